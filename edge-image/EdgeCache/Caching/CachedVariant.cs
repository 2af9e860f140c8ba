namespace EdgeCache.Caching;

/// <summary>
/// One stored variant, the unit the memory tier counts and evicts: a node of the tier's SIEVE queue and of its URL's
/// variants (oldest first). The links change only under the store's lock; a hit reads <see cref="Entry"/> and sets
/// <see cref="Visited"/> without it.
/// </summary>
internal sealed class CachedVariant(VariantSet set, CacheEntry entry, long size)
{
    /// <summary>What a variant's own bookkeeping keeps alive on the heap: this object.</summary>
    public const int OverheadBytes = 80;

    public VariantSet Set { get; } = set;

    /// <summary>Replaced in place when the origin sends a new response for the same variant (a refill or a 304).</summary>
    public CacheEntry Entry { get; set; } = entry;

    /// <summary>Bytes counted against the tier's budget: the entry and <see cref="OverheadBytes"/>.</summary>
    public long Size { get; set; } = size;

    public volatile bool Visited;

    /// <summary>Towards the SIEVE queue's head (newer).</summary>
    public CachedVariant? Prev { get; set; }

    /// <summary>Towards the SIEVE queue's tail (older).</summary>
    public CachedVariant? Next { get; set; }

    public CachedVariant? OlderInUrl { get; set; }

    public CachedVariant? NewerInUrl { get; set; }

    public static long SizeOf(CacheEntry entry) => entry.Size + OverheadBytes;
}
