using Microsoft.Extensions.Primitives;

namespace EdgeCache.Caching;

/// <summary>
/// A stored response: status, end-to-end headers, body and the timing RFC 9111 4.2.3 needs to compute Age.
/// Immutable apart from the body filling while the fetch is under way; a 304 refresh makes a new entry sharing the body.
/// </summary>
public sealed class CacheEntry
{
    public required int StatusCode { get; init; }

    /// <summary>End-to-end headers as the origin sent them (hop-by-hop, Age and Content-Length removed).</summary>
    public required IReadOnlyList<KeyValuePair<string, StringValues>> Headers { get; init; }

    public required CachedBody Body { get; init; }

    /// <summary>Content-Length when known before the body completed.</summary>
    public long? ContentLength { get; init; }

    public required DateTimeOffset RequestTime { get; init; }

    public required DateTimeOffset ResponseTime { get; init; }

    /// <summary>corrected_initial_age (RFC 9111 4.2.3), fixed when the response arrived.</summary>
    public required TimeSpan CorrectedInitialAge { get; init; }

    /// <summary>Freshness lifetime after the behavior's min/max TTL clamp.</summary>
    public required TimeSpan FreshnessLifetime { get; init; }

    public required CacheControl CacheControl { get; init; }

    /// <summary>Lower-cased, sorted header names from Vary.</summary>
    public required string[] VaryNames { get; init; }

    /// <summary>The request's values for <see cref="VaryNames"/>, as built by <see cref="CacheKeyBuilder.SecondaryKey"/>.</summary>
    public required string SecondaryKey { get; init; }

    public string? ETag { get; init; }

    public DateTimeOffset? LastModified { get; init; }

    /// <summary>The last fresh hit's formatted Age and Cache-Status (not part of the stored response; see <see cref="HitHeaderValues"/>).</summary>
    internal HitHeaderValues? LastHitHeaders { get; set; }

    public TimeSpan CurrentAge(DateTimeOffset now)
    {
        var resident = now - ResponseTime;
        return CorrectedInitialAge + (resident > TimeSpan.Zero ? resident : TimeSpan.Zero);
    }

    /// <summary>Positive while fresh, negative once stale (by how much).</summary>
    public TimeSpan TimeToLive(DateTimeOffset now) => FreshnessLifetime - CurrentAge(now);

    /// <summary>Bytes this entry holds for accounting (body + a header estimate).</summary>
    public long Size
    {
        get
        {
            long size = 256 + Body.AllocatedBytes;
            foreach (var (name, values) in Headers)
            {
                size += name.Length * 2;
                foreach (var v in values)
                {
                    size += (v?.Length ?? 0) * 2;
                }
            }

            return size;
        }
    }

    public StringValues GetHeader(string name) => CachePolicy.Find(Headers, name);

    /// <summary>Never served stale: must-revalidate, proxy-revalidate and s-maxage forbid it for a shared cache (RFC 9111 5.2.2.2, 5.2.2.8, 5.2.2.10).</summary>
    public bool ForbidsStale => CacheControl.MustRevalidate || CacheControl.ProxyRevalidate || CacheControl.SharedMaxAge is not null;

    public bool HasValidators => ETag is not null || LastModified is not null;
}
