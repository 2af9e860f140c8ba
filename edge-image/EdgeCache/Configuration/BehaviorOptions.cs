namespace EdgeCache.Configuration;

/// <summary>A cache behavior, in the shape of CloudFront's: a path pattern, its origin, TTL bounds and key policy.</summary>
public sealed class BehaviorOptions
{
    public string PathPattern { get; set; } = "";

    public string Origin { get; set; } = "";

    public long MinTtlSeconds { get; set; }

    public long DefaultTtlSeconds { get; set; } = 86400;

    public long MaxTtlSeconds { get; set; } = 31536000;

    public long StaleIfErrorSeconds { get; set; }

    public List<string> AllowedMethods { get; set; } = [];

    public bool Compress { get; set; }

    public CacheKeyOptions CacheKey { get; set; } = new();

    public OriginRequestOptions OriginRequest { get; set; } = new();

    public bool CacheSetCookieResponses { get; set; }

    public bool RespectViewerCacheControl { get; set; } = true;

    public bool StripCdnCacheControl { get; set; }
}
