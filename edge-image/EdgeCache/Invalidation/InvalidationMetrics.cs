using EdgeCache.Observability;
using Prometheus;

namespace EdgeCache.Invalidation;

/// <summary>The invalidation log's metrics, on the node's own registry (<see cref="EdgeCacheMetrics"/>).</summary>
public sealed class InvalidationMetrics
{
    public InvalidationMetrics(EdgeCacheMetrics metrics)
    {
        Registry = metrics.Registry;
        var factory = Metrics.WithCustomRegistry(Registry);
        Lag = factory.CreateGauge("edgecache_invalidation_lag_seconds", "Seconds since this node last read the invalidation log with nothing left to apply (about invalidation.pollSeconds while it keeps up; it grows while the control bucket is unreachable).");
        LastAppliedTimestamp = factory.CreateGauge("edgecache_invalidation_last_applied_timestamp_seconds", "Time (Unix seconds) in the id of the last invalidation this node applied; 0 before the first.");
        LastApplied = factory.CreateGauge("edgecache_invalidation_last_applied_info", "The id of the last invalidation this node applied, as a label; the value is always 1.", "id");
        Applied = factory.CreateCounter("edgecache_invalidation_applied_total", "Invalidation records this node applied to both tiers.");
        Rejected = factory.CreateCounter("edgecache_invalidation_rejected_total", "Invalidation records skipped without applying any of them: not JSON, an unknown or missing field (malformed), or a target this node's purge rules refuse (invalid_target).", "reason");
        ControlBucketErrors = factory.CreateCounter("edgecache_invalidation_control_bucket_errors_total", "Failed calls to the control bucket, by operation (head, list, get, ack, heartbeat).", "operation");
        PendingAcks = factory.CreateGauge("edgecache_invalidation_pending_acks", "Invalidations applied here whose ack is not written to the control bucket yet.");
    }

    public CollectorRegistry Registry { get; }

    public Gauge Lag { get; }

    public Gauge LastAppliedTimestamp { get; }

    public Gauge LastApplied { get; }

    public Counter Applied { get; }

    public Counter Rejected { get; }

    public Counter ControlBucketErrors { get; }

    public Gauge PendingAcks { get; }
}
