namespace EdgeCache.Configuration;

/// <summary>
/// One origin: <c>type</c> is "http" (Url, HostHeader, ...), "s3" (Bucket, Region, ...) or "group"
/// (Primary, Secondary: two other origins with failover, like a CloudFront origin group).
/// </summary>
public sealed class OriginOptions
{
    public string Id { get; set; } = "";

    public string Type { get; set; } = "";

    // http
    public string? Url { get; set; }

    public string? HostHeader { get; set; }

    public int ConnectTimeoutMs { get; set; } = 5000;

    public int MaxConnections { get; set; } = 512;

    /// <summary>
    /// A second pool, for what the node forwards for one viewer rather than fetches for the cache: unsafe methods with
    /// their uploads, and requests that bypass the cache. Viewers control how long those hold a connection (a slow
    /// upload, a slow reader), so they cannot take the connections cache misses need. The origin may see up to
    /// <see cref="MaxConnections"/> plus this many connections from one node.
    /// </summary>
    public int MaxPassThroughConnections { get; set; } = 128;

    public string? HealthPath { get; set; }

    // both
    public int ReadTimeoutMs { get; set; } = 30000;

    // s3
    public string? Bucket { get; set; }

    public string? Region { get; set; }

    public string? KeyPrefix { get; set; }

    public string? ServiceUrl { get; set; }

    public bool ForcePathStyle { get; set; }

    // group
    public string? Primary { get; set; }

    public string? Secondary { get; set; }

    /// <summary>Primary statuses that send the request to the secondary. Default 500, 502, 503, 504.</summary>
    public List<int> FailoverStatusCodes { get; set; } = [];

    public CircuitBreakerOptions CircuitBreaker { get; set; } = new();
}
