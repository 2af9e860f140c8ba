namespace EdgeCache.Configuration;

public sealed class CacheOptions
{
    /// <summary>
    /// Stored variants (Vary) per URL in each tier. Apache Traffic Server caps alternates at 5 and evicts the oldest;
    /// Fastly keeps up to 200; Varnish has no cap and logs a notice past 10. 32 holds a page's languages times the
    /// three codings the node compresses to, while one URL flooded with header values churns only its own variants.
    /// </summary>
    public const int DefaultMaxVariantsPerUrl = 32;

    public long MemoryBytes { get; set; } = 256L * 1024 * 1024;

    public long MaxObjectBytes { get; set; } = 8L * 1024 * 1024;

    public double HeuristicFraction { get; set; } = 0.1;

    /// <summary>
    /// The node's own targeted cache-control field (RFC 9213): it takes precedence over CDN-Cache-Control and
    /// Cache-Control for this node's caching, and is removed before a response leaves the node.
    /// </summary>
    public string TargetedCacheControl { get; set; } = "EdgeCache-Cache-Control";

    public int MaxVariantsPerUrl { get; set; } = DefaultMaxVariantsPerUrl;

    public DiskOptions Disk { get; set; } = new();
}
