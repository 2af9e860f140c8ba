using EdgeCache.Configuration;
using EdgeCache.Origins;
using Microsoft.Extensions.Options;

namespace EdgeCache.Origins;

/// <summary>
/// Probes every origin on an interval and records the answers in <see cref="OriginHealth"/> (/readyz's details,
/// <c>edgecache_origin_up</c>). Uses the TimeProvider so tests drive it without sleeping.
/// </summary>
public sealed partial class OriginHealthMonitor : BackgroundService
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    private readonly OriginRegistry _origins;
    private readonly OriginHealth _health;
    private readonly TimeProvider _time;
    private readonly ILogger<OriginHealthMonitor> _logger;
    private readonly TimeSpan _interval;
    private readonly HashSet<string> _served;
    private readonly TaskCompletionSource _firstRound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public OriginHealthMonitor(OriginRegistry origins, OriginHealth health, TimeProvider time, IOptions<EdgeCacheOptions> options, ILogger<OriginHealthMonitor> logger)
    {
        _origins = origins;
        _health = health;
        _time = time;
        _logger = logger;
        _interval = TimeSpan.FromSeconds(options.Value.Readiness.ProbeIntervalSeconds);
        _served = options.Value.Behaviors.Select(b => b.Origin).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Completes after every origin has been probed once.</summary>
    public Task FirstRound => _firstRound.Task;

    /// <summary>Every origin a behavior sends to answered its last probe (a group answers when either member does).</summary>
    public bool AllReachable => _served.All(id => _health.IsUp(id) == true);

    /// <summary>The origins a behavior sends to.</summary>
    public IReadOnlySet<string> Served => _served;

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
            timeout.CancelAfter(ProbeTimeout);
            OriginProbeResult result;
            try
            {
                result = await origin.ProbeAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // A probe's unexpected failure marks its origin down; escaping, it would stop this background service
                // and with it the host (BackgroundServiceExceptionBehavior.StopHost).
                result = OriginProbeResult.Failed("unexpected", $"{ex.GetType().Name}: {ex.Message}");
            }

            var previous = _health.RecordProbe(origin.Id, result);
            if (previous != result.Up)
            {
                if (result.Up)
                {
                    LogOriginUp(_logger, origin.Id);
                }
                else
                {
                    LogOriginDown(_logger, origin.Id, result.ErrorKind, result.Error);
                }
            }
        })).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Origin {OriginId} is reachable")]
    private static partial void LogOriginUp(ILogger logger, string originId);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Origin {OriginId} is unreachable ({Kind}): {Error}")]
    private static partial void LogOriginDown(ILogger logger, string originId, string? kind, string? error);
}
