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

    private const int EntryOverhead = 640;
    private const int HeaderSlotBytes = 24;

    /// <summary>A string of <paramref name="length"/> characters on the 64-bit heap: object header, length, UTF-16, 8-byte aligned.</summary>
    internal static long StringBytes(int length) => (22 + (2L * length) + 7) & ~7L;

    public TimeSpan CurrentAge(DateTimeOffset now)
    {
        var resident = now - ResponseTime;
        return CorrectedInitialAge + (resident > TimeSpan.Zero ? resident : TimeSpan.Zero);
    }

    /// <summary>Positive while fresh, negative once stale (by how much).</summary>
    public TimeSpan TimeToLive(DateTimeOffset now) => FreshnessLifetime - CurrentAge(now);

    /// <summary>
    /// Bytes this entry keeps alive, for the memory tier's budget: the body, each header's strings with their object
    /// headers and array slot, and a fixed part for the entry, its body's bookkeeping, secondary key, validators and
    /// variant set, and its parsed Cache-Control when that is not shared (calibrated against the live heap in
    /// MemoryAccountingTests, ~2,025 B live per 1 KiB entry against 2,760 counted with its URL's share; with 1 KiB
    /// bodies the part that is not body is more than the body, so counting only characters let memoryBytes undercount
    /// the process by half).
    /// </summary>
    public long Size
    {
        get
        {
            long size = EntryOverhead + Body.AllocatedBytes + StringBytes(SecondaryKey.Length);
            foreach (var (name, values) in Headers)
            {
                size += HeaderSlotBytes + StringBytes(name.Length);
                foreach (var v in values)
                {
                    size += StringBytes(v?.Length ?? 0);
                }
            }

            return size;
        }
    }

    public StringValues GetHeader(string name) => CachePolicy.Find(Headers, name);

    public bool HasValidators => ETag is not null || LastModified is not null;
}
