namespace EdgeCache.Configuration;

public sealed class ReadinessOptions
{
    /// <summary>
    /// Not ready while an origin a behavior uses fails its probe (Hosting.OriginsReadinessCheck). Off: a node is ready when
    /// it can serve viewers, and origin health is reported on /readyz's details and <c>edgecache_origin_up</c>.
    /// </summary>
    public bool RequireOrigins { get; set; }

    public int ProbeIntervalSeconds { get; set; } = 10;
}
