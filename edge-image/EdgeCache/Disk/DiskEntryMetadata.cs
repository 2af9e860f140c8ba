namespace EdgeCache.Disk;

/// <summary>What a disk entry file records besides its body; serialized as JSON and covered by a SHA-256.</summary>
public sealed class DiskEntryMetadata
{
    public string PrimaryKey { get; set; } = "";

    /// <summary>The request path the entry was fetched for: what purges and invalidations match (<see cref="Caching.CacheKey.Path"/>).</summary>
    public string Path { get; set; } = "";

    public string SecondaryKey { get; set; } = "";

    public string[] VaryNames { get; set; } = [];

    public int StatusCode { get; set; }

    /// <summary>Each header as [name, value, value, ...].</summary>
    public List<string[]> Headers { get; set; } = [];

    public long? ContentLength { get; set; }

    public DateTimeOffset RequestTime { get; set; }

    public DateTimeOffset ResponseTime { get; set; }

    public long CorrectedInitialAgeTicks { get; set; }

    public long FreshnessLifetimeTicks { get; set; }

    public string? ETag { get; set; }

    public DateTimeOffset? LastModified { get; set; }

    public long BodyLength { get; set; }

    /// <summary>Hex SHA-256 of the body, checked before a disk entry is served.</summary>
    public string BodySha256 { get; set; } = "";
}
