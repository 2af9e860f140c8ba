namespace EdgeCache.Configuration;

/// <summary>What reaches the origin without being part of the cache key.</summary>
public sealed class OriginRequestOptions
{
    public List<string> Headers { get; set; } = [];

    public List<string> Cookies { get; set; } = [];

    public bool AllQueryStrings { get; set; }
}
