using EdgeCache.Caching;
using Microsoft.Extensions.Primitives;

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

    /// <summary>The targeted field (RFC 9213) the entry was cached by, which is not among its stored headers when the node removed it.</summary>
    public string? TargetedCacheControl { get; set; }

    public long BodyLength { get; set; }

    /// <summary>Hex SHA-256 of the body, checked before a disk entry is served.</summary>
    public string BodySha256 { get; set; } = "";

    /// <summary>What an entry file records for <paramref name="entry"/>, stored under <paramref name="key"/>.</summary>
    public static DiskEntryMetadata For(CacheKey key, CacheEntry entry, long bodyLength, string bodySha256) => new()
    {
        PrimaryKey = key.Primary,
        Path = key.Path,
        SecondaryKey = entry.SecondaryKey,
        VaryNames = entry.VaryNames,
        StatusCode = entry.StatusCode,
        Headers = [.. entry.Headers.Select(h => (string[])[h.Key, .. h.Value.Select(v => v ?? "")])],
        ContentLength = entry.ContentLength,
        RequestTime = entry.RequestTime,
        ResponseTime = entry.ResponseTime,
        CorrectedInitialAgeTicks = entry.CorrectedInitialAge.Ticks,
        FreshnessLifetimeTicks = entry.FreshnessLifetime.Ticks,
        ETag = entry.ETag,
        LastModified = entry.LastModified,
        TargetedCacheControl = entry.CacheControl.TargetedText,
        BodyLength = bodyLength,
        BodySha256 = bodySha256,
    };

    /// <summary>The entry this metadata describes, with <paramref name="body"/> read from (or streamed out of) its file.</summary>
    public CacheEntry ToEntry(CachedBody body)
    {
        var headers = Headers.Where(h => h.Length >= 1).Select(h => new KeyValuePair<string, StringValues>(h[0], new StringValues(h[1..]))).ToList();
        return new CacheEntry
        {
            StatusCode = StatusCode,
            Headers = headers,
            Body = body,
            ContentLength = ContentLength,
            RequestTime = RequestTime,
            ResponseTime = ResponseTime,
            CorrectedInitialAge = TimeSpan.FromTicks(CorrectedInitialAgeTicks),
            FreshnessLifetime = TimeSpan.FromTicks(FreshnessLifetimeTicks),
            CacheControl = Directives(headers),
            VaryNames = VaryNames,
            SecondaryKey = SecondaryKey,
            ETag = ETag,
            LastModified = LastModified,
        };
    }

    private CacheControl Directives(List<KeyValuePair<string, StringValues>> headers)
    {
        var cc = CacheControl.Parse(CachePolicy.Find(headers, "Cache-Control"));
        return TargetedCacheControl is { } targeted ? Caching.TargetedCacheControl.Parse(targeted, cc) ?? cc : cc;
    }
}
