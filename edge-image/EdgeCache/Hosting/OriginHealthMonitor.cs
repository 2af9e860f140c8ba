using System.Collections.Concurrent;
using EdgeCache.Configuration;
using EdgeCache.Origins;
using Microsoft.Extensions.Options;

namespace EdgeCache.Hosting;

/// <summary>Probes every origin on an interval for /readyz. Uses the TimeProvider so tests drive it without sleeping.</summary>
public sealed partial class OriginHealthMonitor : BackgroundService
{
    private readonly OriginRegistry _origins;
    private readonly TimeProvider _time;
    private readonly ILogger<OriginHealthMonitor> _logger;
    private readonly TimeSpan _interval;
    private readonly HashSet<string> _served;
    private readonly ConcurrentDictionary<string, bool> _reachable = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _firstRound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public OriginHealthMonitor(OriginRegistry origins, TimeProvider time, IOptions<EdgeCacheOptions> options, ILogger<OriginHealthMonitor> logger)
    {
        _origins = origins;
        _time = time;
        _logger = logger;
        _interval = TimeSpan.FromSeconds(options.Value.Readiness.ProbeIntervalSeconds);
        _served = options.Value.Behaviors.Select(b => b.Origin).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Completes after every origin has been probed once.</summary>
    public Task FirstRound => _firstRound.Task;

    public IReadOnlyDictionary<string, bool> Reachable => _reachable;

    /// <summary>Every origin a behavior sends to answers (a group answers when either member does).</summary>
    public bool AllReachable => _served.All(id => _reachable.TryGetValue(id, out var ok) && ok);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await ProbeAllAsync(stoppingToken).ConfigureAwait(false);
            _firstRound.TrySetResult();
            try
            {
                await Task.Delay(_interval, _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task ProbeAllAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(_origins.All.Select(async origin =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var ok = await origin.ProbeAsync(timeout.Token).ConfigureAwait(false);
            var previous = _reachable.TryGetValue(origin.Id, out var p) ? p : (bool?)null;
            _reachable[origin.Id] = ok;
            if (previous != ok)
            {
                LogOriginState(_logger, origin.Id, ok ? "reachable" : "unreachable");
            }
        })).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Origin {OriginId} is {State}")]
    private static partial void LogOriginState(ILogger logger, string originId, string state);
}
