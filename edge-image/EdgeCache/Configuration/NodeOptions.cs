namespace EdgeCache.Configuration;

public sealed class NodeOptions
{
    /// <summary>Name used in Via and Cache-Status.</summary>
    public string Name { get; set; } = "edgecache";

    public string? Region { get; set; }
}
