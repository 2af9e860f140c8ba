using EdgeCache.Observability;

namespace EdgeCache.Disk;

/// <summary>
/// Whether the tier takes writes, and the gauges that report it. A write error (disk full, I/O) turns writes off for
/// disk.retryAfterErrorSeconds with a log line and a metric; the node keeps serving from memory meanwhile.
/// </summary>
internal sealed partial class DiskTierStatus(DiskIndex index, int retryAfterErrorSeconds, TimeProvider time, EdgeCacheMetrics metrics, ILogger logger)
{
    private long _disabledUntilTicks;

    /// <summary>True while writes are suspended after an error.</summary>
    public bool Degraded => time.GetUtcNow().UtcTicks < Interlocked.Read(ref _disabledUntilTicks);

    public void Degrade(string during, Exception ex)
    {
        var until = time.GetUtcNow().AddSeconds(retryAfterErrorSeconds);
        Interlocked.Exchange(ref _disabledUntilTicks, until.UtcTicks);
        // State first, then the counter: whoever sees the error counted also sees the tier degraded.
        Publish();
        metrics.DiskErrors.WithLabels(during).Inc();
        LogDegraded(logger, during, ex.Message, retryAfterErrorSeconds);
    }

    /// <summary>The gauges after a change: bytes and objects indexed, and whether writes are suspended.</summary>
    public void Publish()
    {
        metrics.DiskStoredBytes.Set(index.Bytes);
        metrics.DiskStoredObjects.Set(index.Count);
        metrics.DiskDegraded.Set(Degraded ? 1 : 0);
    }

    [LoggerMessage(EventId = 602, Level = LogLevel.Error, Message = "Disk tier error during {During}: {Detail}; serving from memory only, retrying writes in {RetrySeconds} s")]
    private static partial void LogDegraded(ILogger logger, string during, string detail, int retrySeconds);
}
