using Prometheus;

namespace EdgeCache.Observability;

/// <summary>
/// The node's Prometheus metrics, on a registry of its own so that several nodes in one process (tests) do not share counters.
/// </summary>
public sealed class EdgeCacheMetrics
{
    public EdgeCacheMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("edgecache_requests_total", "Viewer requests by cache status (hit, miss, refresh_hit, stale, error, pass).", "cache_status");
        ResponseBytes = factory.CreateCounter("edgecache_response_body_bytes_total", "Body bytes served to viewers, by cache status.", "cache_status");
        RequestDuration = factory.CreateHistogram(
            "edgecache_request_duration_seconds",
            "Time from a viewer request's arrival to the end of its response (the last byte handed to the socket), by cache status.",
            new HistogramConfiguration
            {
                LabelNames = ["cache_status"],
                // From a sub-millisecond hit to a slow origin's miss; fifteen buckets keep a node's series few.
                Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
                // The proxy resolves a child per cache status up front; a status never seen publishes no 18 series.
                SuppressInitialValue = true,
            });
        Responses = factory.CreateCounter("edgecache_responses_total", "Viewer responses by HTTP status code.", "code");
        Ready = factory.CreateGauge("edgecache_ready", "1 while the node is ready to serve viewers (what /readyz answers), 0 while it starts or drains.");
        OriginFetchDuration = factory.CreateHistogram(
            "edgecache_origin_fetch_duration_seconds",
            "Time from sending an origin request to its response headers, by origin and outcome.",
            new HistogramConfiguration
            {
                LabelNames = ["origin", "outcome"],
                Buckets = Histogram.ExponentialBuckets(0.001, 2, 16),
            });
        CollapsedWaiters = factory.CreateCounter("edgecache_collapsed_waiters_total", "Viewer requests that waited on another viewer's origin fetch instead of starting their own.");
        StoredBytes = factory.CreateGauge("edgecache_stored_bytes", "Bytes held by the memory tier.");
        CapacityBytes = factory.CreateGauge("edgecache_capacity_bytes", "The memory tier's byte budget (cache.memoryBytes).");
        StoredObjects = factory.CreateGauge("edgecache_stored_objects", "Entries (variants) held by the memory tier.");
        Evictions = factory.CreateCounter("edgecache_evictions_total", "Entries (variants) evicted from the memory tier to stay within its byte budget or cache.maxVariantsPerUrl.");
        DiskStoredBytes = factory.CreateGauge("edgecache_disk_stored_bytes", "Bytes held by the disk tier.");
        DiskCapacityBytes = factory.CreateGauge("edgecache_disk_capacity_bytes", "The disk tier's byte budget (cache.disk.maxBytes); 0 without a disk tier.");
        DiskStoredObjects = factory.CreateGauge("edgecache_disk_stored_objects", "Entries (variants) held by the disk tier.");
        DiskEvictions = factory.CreateCounter("edgecache_disk_evictions_total", "Entries evicted from the disk tier to stay within cache.disk.maxBytes, cache.disk.maxEntries or cache.maxVariantsPerUrl.");
        DiskCorruptEntries = factory.CreateCounter("edgecache_disk_corrupt_entries_total", "Disk entries dropped because a checksum, length or header check failed.");
        DiskErrors = factory.CreateCounter("edgecache_disk_errors_total", "Disk tier I/O errors (disk full included), by phase.", "during");
        DiskDegraded = factory.CreateGauge("edgecache_disk_degraded", "1 while the disk tier is off after an error and the node serves from memory only.");
        OriginFailovers = factory.CreateCounter("edgecache_origin_failovers_total", "Requests an origin group sent to its secondary, by group and reason (status, connect, timeout, protocol, circuit-open).", "group", "reason");
        OriginErrors = factory.CreateCounter("edgecache_origin_errors_total", "Origin fetches that failed, by origin and kind (connect, timeout, protocol, body).", "origin", "kind");
        OriginUp = factory.CreateGauge("edgecache_origin_up", "1 when the origin answered its last health probe, 0 when it did not (a group: either member). For alerting: readiness does not depend on it.", "origin");
        SendFileBodies = factory.CreateGauge("edgecache_sendfile_bodies", "Stored bodies held in in-memory files for sendfile (listen.sendFile), evicted ones included until collected. Each holds one file descriptor and one mapping.");
        SendFileResponses = factory.CreateCounter("edgecache_sendfile_responses_total", "Viewer responses whose stored body went out with sendfile from its in-memory file (listen.sendFile).");
        SendFileBodyBytes = factory.CreateGauge("edgecache_sendfile_body_bytes", "Memory those bodies hold: whole pages plus the kernel's structures for each file.");
        ProxyProtocolRejected = factory.CreateCounter("edgecache_proxy_protocol_rejected_total", "Viewer connections closed for want of a valid PROXY protocol v2 header (listen.proxyProtocol), by reason (signature, v1, version, command, family, protocol, address_length, tlv, crc32c, too_long, truncated, empty, timeout).", "reason");
        ViewerSendTimeouts = factory.CreateCounter("edgecache_viewer_send_timeouts_total", "Viewer connections closed because a response waited limits.viewerSendTimeoutSeconds without the viewer acknowledging a byte.");

        // The process and runtime figures an operator reads beside the cache's own: CPU, resident memory, GC counts
        // (prometheus-net's DotNetStats), and two it lacks that show what the hot path costs the GC: bytes allocated
        // and time paused. Read at scrape time only; nothing on the request path.
        DotNetStats.Register(Registry);
        var allocated = factory.CreateCounter("dotnet_gc_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.");
        var paused = factory.CreateCounter("dotnet_gc_pause_seconds_total", "Time the runtime paused threads for garbage collection since the process started.");
        // What process_working_set_bytes is compared with to warn before the container is OOM-killed.
        var limit = factory.CreateGauge("edgecache_memory_limit_bytes", "Memory this process may use: the container's limit (cgroup) as the .NET runtime reads it, or the machine's memory without one.");
        Registry.AddBeforeCollectCallback(() =>
        {
            allocated.IncTo(GC.GetTotalAllocatedBytes());
            paused.IncTo(GC.GetTotalPauseDuration().TotalSeconds);
            limit.Set(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        });
    }

    public CollectorRegistry Registry { get; }

    public Counter Requests { get; }

    public Counter ResponseBytes { get; }

    public Histogram RequestDuration { get; }

    public Counter Responses { get; }

    /// <summary>Set at each scrape from the readiness checks (Hosting.ReadinessEndpoint.RegisterMetric).</summary>
    public Gauge Ready { get; }

    public Gauge CapacityBytes { get; }

    public Gauge DiskCapacityBytes { get; }

    public Histogram OriginFetchDuration { get; }

    public Counter CollapsedWaiters { get; }

    public Gauge StoredBytes { get; }

    public Gauge StoredObjects { get; }

    public Counter Evictions { get; }

    public Counter OriginErrors { get; }

    public Counter OriginFailovers { get; }

    public Gauge OriginUp { get; }

    public Gauge DiskStoredBytes { get; }

    public Gauge DiskStoredObjects { get; }

    public Counter DiskEvictions { get; }

    public Counter DiskCorruptEntries { get; }

    public Counter DiskErrors { get; }

    public Gauge DiskDegraded { get; }

    public Counter ViewerSendTimeouts { get; }

    public Counter ProxyProtocolRejected { get; }

    public Gauge SendFileBodies { get; }

    public Gauge SendFileBodyBytes { get; }

    public Counter SendFileResponses { get; }
}
