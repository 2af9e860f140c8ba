namespace EdgeCache.Configuration;

/// <summary>What reaches the origin without being part of the cache key.</summary>
public sealed class OriginRequestOptions
{
    /// <summary>Named viewer headers, or "allViewer" / "allViewerExceptHost".</summary>
    public ForwardedNames Headers { get; set; } = [];

    /// <summary>Named viewer cookies, or "all".</summary>
    public ForwardedNames Cookies { get; set; } = [];

    public bool AllQueryStrings { get; set; }
}
