namespace EdgeCache.Configuration;

/// <summary>
/// The whole edge node configuration, bound from the JSON file (see edgecache.schema.json)
/// and EDGECACHE_ environment variables. Validated once at start-up by <see cref="EdgeCacheOptionsValidator"/>.
/// </summary>
public sealed class EdgeCacheOptions
{
    public NodeOptions Node { get; set; } = new();

    public ListenOptions Listen { get; set; } = new();

    public LimitsOptions Limits { get; set; } = new();

    public CacheOptions Cache { get; set; } = new();

    public AccessLogOptions AccessLog { get; set; } = new();

    public ReadinessOptions Readiness { get; set; } = new();

    public List<OriginOptions> Origins { get; set; } = [];

    public List<BehaviorOptions> Behaviors { get; set; } = [];

    public ShutdownOptions Shutdown { get; set; } = new();

    /// <summary>The fleet's invalidation log; null (off) unless configured.</summary>
    public InvalidationOptions? Invalidation { get; set; }

    /// <summary>
    /// Bearer token for the purge API, from the EDGECACHE_ADMIN_TOKEN environment variable (a Kubernetes Secret),
    /// never from the config file. Without it the purge API is disabled.
    /// </summary>
    public string? AdminToken { get; set; }
}
