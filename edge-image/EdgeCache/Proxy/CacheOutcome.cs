namespace EdgeCache.Proxy;

/// <summary>How a viewer's request was answered; drives X-Cache, Cache-Status, metrics and the access log.</summary>
public enum CacheOutcome
{
    Hit,
    Miss,
    RefreshHit,
    Stale,
    Error,

    /// <summary>Forwarded without the cache (unsafe method, uncacheable response, viewer no-store); X-Cache says Miss.</summary>
    Pass,

    /// <summary>Answered by the node itself (400, 405, 504 only-if-cached, health).</summary>
    Synthetic,
}
