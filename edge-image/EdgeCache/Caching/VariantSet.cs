using System.Collections.Concurrent;

namespace EdgeCache.Caching;

/// <summary>
/// Every stored variant of one primary key (URL + key policy), selected by the request headers the response's Vary named.
/// Changed only by <see cref="MemoryCacheStore"/> under its lock; readers take no lock. A lookup costs the same however
/// many variants the URL has: one comparison for the usual single variant, at most <see cref="ScanLimit"/> for a few,
/// and a hash lookup beyond that. A new response with a different Vary replaces the set (RFC 9111 4.1: the most recent wins).
/// </summary>
public sealed class VariantSet
{
    /// <summary>Up to this many variants are found by comparing keys in turn; beyond it, by a dictionary.</summary>
    internal const int ScanLimit = 8;

    /// <summary>How many of the URL's oldest variants the per-URL cap looks through for one not hit lately.</summary>
    private const int CapCandidates = 8;

    /// <summary>What a URL's own bookkeeping keeps alive: this object and the memory tier's dictionary node for it.</summary>
    private const int OverheadBytes = 120;

    // One variant (the common case, no array), an array of up to ScanLimit (copy-on-write), or a dictionary by secondary
    // key (changed in place: ConcurrentDictionary reads need no lock). Readers see one of the three, published whole.
    private volatile object? _lookup;
    private CachedVariant? _oldest;
    private CachedVariant? _newest;
    private int _count;

    internal VariantSet(string primaryKey, string? path, string[] varyNames)
    {
        PrimaryKey = primaryKey;
        Path = path;
        VaryNames = varyNames;
    }

    public string PrimaryKey { get; }

    /// <summary>The request path purges match (<see cref="CacheKey.Path"/>); null only for sets stored without a key's path.</summary>
    public string? Path { get; }

    /// <summary>Lower-cased, sorted header names from Vary, shared by every variant of the set.</summary>
    public string[] VaryNames { get; }

    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Bytes this URL's bookkeeping is counted for, beyond its variants: the key, this set and its lookup structure
    /// (estimated from the runtime's object layouts, as <see cref="CacheEntry.Size"/> is).
    /// </summary>
    internal long BookkeepingBytes => OverheadBytes + CacheEntry.StringBytes(PrimaryKey.Length) + _lookup switch
    {
        CachedVariant[] few => 24 + (8L * few.Length),
        ConcurrentDictionary<string, CachedVariant> many => 512 + (64L * many.Count),
        _ => 0,
    };

    /// <summary>The variant stored for <paramref name="secondaryKey"/>, recorded as a hit for eviction.</summary>
    public CacheEntry? Find(string secondaryKey)
    {
        if (FindVariant(secondaryKey) is not { } variant)
        {
            return null;
        }

        variant.Visited = true;
        return variant.Entry;
    }

    internal CachedVariant? FindVariant(string secondaryKey)
    {
        var lookup = _lookup;
        if (lookup is CachedVariant one)
        {
            return one.Entry.SecondaryKey == secondaryKey ? one : null;
        }

        if (lookup is CachedVariant[] few)
        {
            foreach (var variant in few)
            {
                if (variant.Entry.SecondaryKey == secondaryKey)
                {
                    return variant;
                }
            }

            return null;
        }

        return lookup is ConcurrentDictionary<string, CachedVariant> many && many.TryGetValue(secondaryKey, out var found) ? found : null;
    }

    /// <summary>Adds a variant whose secondary key the set does not hold. Under the store's lock.</summary>
    /// <param name="comparer">For the dictionary, if this add creates it: ordinal unless a test counts comparisons.</param>
    internal void Add(CachedVariant variant, IEqualityComparer<string>? comparer)
    {
        var key = variant.Entry.SecondaryKey;
        switch (_lookup)
        {
            case null:
                _lookup = variant;
                break;
            case CachedVariant one:
                _lookup = new[] { one, variant };
                break;
            case CachedVariant[] few when few.Length < ScanLimit:
                _lookup = (CachedVariant[])[.. few, variant];
                break;
            case CachedVariant[] few:
                var byKey = new ConcurrentDictionary<string, CachedVariant>(concurrencyLevel: 1, capacity: 2 * ScanLimit, comparer ?? StringComparer.Ordinal);
                foreach (var existing in few)
                {
                    byKey[existing.Entry.SecondaryKey] = existing;
                }

                byKey[key] = variant;
                _lookup = byKey;
                break;
            case ConcurrentDictionary<string, CachedVariant> many:
                many[key] = variant;
                break;
        }

        variant.OlderInUrl = _newest;
        if (_newest is not null)
        {
            _newest.NewerInUrl = variant;
        }

        _newest = variant;
        _oldest ??= variant;
        _count++;
    }

    /// <summary>Removes a variant of this set. Under the store's lock.</summary>
    internal void Remove(CachedVariant variant)
    {
        switch (_lookup)
        {
            case CachedVariant one when one == variant:
                _lookup = null;
                break;
            case CachedVariant[] few:
                var kept = Array.FindAll(few, v => v != variant);
                _lookup = kept.Length == 1 ? kept[0] : kept;
                break;
            case ConcurrentDictionary<string, CachedVariant> many:
                many.TryRemove(new KeyValuePair<string, CachedVariant>(variant.Entry.SecondaryKey, variant));
                break;
        }

        if (variant.OlderInUrl is not null)
        {
            variant.OlderInUrl.NewerInUrl = variant.NewerInUrl;
        }
        else
        {
            _oldest = variant.NewerInUrl;
        }

        if (variant.NewerInUrl is not null)
        {
            variant.NewerInUrl.OlderInUrl = variant.OlderInUrl;
        }
        else
        {
            _newest = variant.OlderInUrl;
        }

        variant.OlderInUrl = variant.NewerInUrl = null;
        _count--;
    }

    /// <summary>
    /// The variant to give up when the URL is at its cap: of its oldest few, the first not hit since the memory tier's
    /// SIEVE hand last passed it, else the oldest. A URL flooded with header values then churns through its one-off
    /// variants while the ones viewers keep asking for stay. Under the store's lock.
    /// </summary>
    internal CachedVariant? LeastValuable()
    {
        var candidate = _oldest;
        for (var i = 0; i < CapCandidates && candidate is not null; i++, candidate = candidate.NewerInUrl)
        {
            if (!candidate.Visited)
            {
                return candidate;
            }
        }

        return _oldest;
    }

    /// <summary>Every variant, oldest first, for removing the whole set. Under the store's lock.</summary>
    internal IEnumerable<CachedVariant> Variants()
    {
        for (var variant = _oldest; variant is not null; variant = variant.NewerInUrl)
        {
            yield return variant;
        }
    }
}
