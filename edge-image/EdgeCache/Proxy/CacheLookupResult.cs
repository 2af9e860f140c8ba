using EdgeCache.Caching;

namespace EdgeCache.Proxy;

/// <summary>What the two tiers hold for a request: a fresh entry, a stale one, or nothing usable (and why).</summary>
internal readonly struct CacheLookupResult
{
    private CacheLookupResult(CacheLookupStatus status, CacheEntry? entry, ForwardReason missReason, DateTimeOffset now)
    {
        Status = status;
        Entry = entry;
        MissReason = missReason;
        Now = now;
    }

    public CacheLookupStatus Status { get; }

    /// <summary>The entry found: null only for <see cref="CacheLookupStatus.Miss"/>.</summary>
    public CacheEntry? Entry { get; }

    /// <summary>Why the request goes to the origin if it does: <see cref="ForwardReason.Stale"/> whenever an entry was found.</summary>
    public ForwardReason MissReason { get; }

    /// <summary>The time the entry was judged at.</summary>
    public DateTimeOffset Now { get; }

    public static CacheLookupResult Fresh(CacheEntry entry, DateTimeOffset now) => new(CacheLookupStatus.Fresh, entry, ForwardReason.Stale, now);

    public static CacheLookupResult Stale(CacheEntry entry, DateTimeOffset now) => new(CacheLookupStatus.Stale, entry, ForwardReason.Stale, now);

    /// <param name="reason"><see cref="ForwardReason.UriMiss"/> or <see cref="ForwardReason.VaryMiss"/>.</param>
    public static CacheLookupResult Miss(ForwardReason reason, DateTimeOffset now) => new(CacheLookupStatus.Miss, null, reason, now);
}
