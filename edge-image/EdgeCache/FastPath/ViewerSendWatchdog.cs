using EdgeCache.Configuration;
using EdgeCache.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeCache.FastPath;

/// <summary>
/// Closes viewer connections whose response has waited <c>limits.viewerSendTimeoutSeconds</c> without the viewer
/// acknowledging a byte: once a second it asks each connection's <see cref="ViewerSocketWriter"/> whether its send in
/// flight has moved since the last look.
/// </summary>
/// <remarks>
/// Why not Kestrel's minimum response data rate: it times a flush against the bytes Kestrel itself wrote, and a stored
/// body sent by reference is not written through Kestrel (only "advanced"), so Kestrel would allow its 5 s grace for a
/// 1 MiB body and cut off every viewer reading slower than that. The hit path turns Kestrel's rate off for those
/// responses; this rule, nginx's send_timeout, covers every response on the viewer port instead. One timer for the node
/// rather than one per connection: a sweep takes one uncontended lock per idle connection.
/// </remarks>
public sealed partial class ViewerSendWatchdog : IDisposable
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _sync = new();
    private readonly HashSet<ViewerSocketWriter> _writers = [];
    private readonly List<ViewerSocketWriter> _sweep = [];
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly long _timeoutTimestamps;
    private readonly EdgeCacheMetrics _metrics;
    private readonly ILogger<ViewerSendWatchdog> _logger;
    private readonly ITimer _timer;
    private int _sweeping;

    public ViewerSendWatchdog(TimeProvider time, IOptions<EdgeCacheOptions> options, EdgeCacheMetrics metrics, ILogger<ViewerSendWatchdog> logger)
    {
        _time = time;
        _timeout = TimeSpan.FromSeconds(options.Value.Limits.ViewerSendTimeoutSeconds);
        _timeoutTimestamps = (long)(_timeout.TotalSeconds * time.TimestampFrequency);
        _metrics = metrics;
        _logger = logger;
        _timer = time.CreateTimer(static state => ((ViewerSendWatchdog)state!).Sweep(), this, SweepInterval, SweepInterval);
    }

    public void Add(ViewerSocketWriter writer)
    {
        lock (_sync)
        {
            _writers.Add(writer);
        }
    }

    public void Remove(ViewerSocketWriter writer)
    {
        lock (_sync)
        {
            _writers.Remove(writer);
        }
    }

    public void Dispose() => _timer.Dispose();

    private void Sweep()
    {
        // A sweep slower than the interval (thousands of stalled viewers) is not overlapped by the next one.
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            lock (_sync)
            {
                _sweep.AddRange(_writers);
            }

            var now = _time.GetTimestamp();
            foreach (var writer in _sweep)
            {
                if (writer.AbortIfStalled(now, _timeoutTimestamps, _timeout))
                {
                    _metrics.ViewerSendTimeouts.Inc();
                    LogViewerSendTimedOut(_logger, writer.ConnectionId, _timeout.TotalSeconds);
                }
            }
        }
        finally
        {
            _sweep.Clear();
            Volatile.Write(ref _sweeping, 0);
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Viewer connection {ConnectionId} closed: its response waited {TimeoutSeconds} s without the viewer acknowledging a byte")]
    private static partial void LogViewerSendTimedOut(ILogger logger, string connectionId, double timeoutSeconds);
}
