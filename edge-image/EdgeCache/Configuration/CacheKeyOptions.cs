namespace EdgeCache.Configuration;

public sealed class CacheKeyOptions
{
    /// <summary>"none", "all" or "allowList".</summary>
    public string QueryStrings { get; set; } = "none";

    public List<string> QueryStringNames { get; set; } = [];

    public List<string> Headers { get; set; } = [];

    public List<string> Cookies { get; set; } = [];
}
