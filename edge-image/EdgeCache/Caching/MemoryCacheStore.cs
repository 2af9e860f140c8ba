using System.Collections.Concurrent;
using EdgeCache.Configuration;
using EdgeCache.Observability;
using EdgeCache.Purging;
using Microsoft.Extensions.Options;

namespace EdgeCache.Caching;

/// <summary>
/// The memory tier: primary key → <see cref="VariantSet"/>, bounded by bytes, evicted with SIEVE
/// (Zhang et al., NSDI '24). Why SIEVE rather than LRU: a hit only sets a flag — no list reordering, so the hit path
/// takes no lock — and on web/CDN traces it has a lower miss ratio than LRU because one-hit wonders are
/// evicted before they can push out the popular objects. S3-FIFO does as well on misses but needs two queues
/// and a ghost list; SIEVE is one list and one hand.
/// Each variant (Vary) is its own node of the queue, so a URL flooded with header values loses its one-off variants
/// one at a time rather than pushing out the rest of the tier, and it holds at most cache.maxVariantsPerUrl of them.
/// </summary>
public sealed class MemoryCacheStore
{
    private readonly ConcurrentDictionary<string, VariantSet> _map = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, VariantSet>.AlternateLookup<ReadOnlySpan<char>> _mapBySpan;
    private readonly Lock _listLock = new();
    private readonly long _capacity;
    private readonly int _maxVariantsPerUrl;
    private readonly EdgeCacheMetrics _metrics;
    private readonly IEqualityComparer<string>? _secondaryKeyComparer;

    // SIEVE queue of variants: new ones at the head; the hand walks from the tail towards the head.
    private CachedVariant? _head;
    private CachedVariant? _tail;
    private CachedVariant? _hand;
    private long _bytes;

    // Variants stored, kept here because every add and remove is under _listLock: ConcurrentDictionary.Count takes every
    // one of the dictionary's locks (up to 1024 once it has grown), which on each store cost ~10 % of the miss path's CPU.
    private int _count;

    public MemoryCacheStore(IOptions<EdgeCacheOptions> options, EdgeCacheMetrics metrics)
        : this(options.Value.Cache.MemoryBytes, options.Value.Cache.MaxVariantsPerUrl, metrics)
    {
    }

    public MemoryCacheStore(long capacityBytes, EdgeCacheMetrics metrics)
        : this(capacityBytes, CacheOptions.DefaultMaxVariantsPerUrl, metrics)
    {
    }

    /// <param name="secondaryKeyComparer">Ordinal when null; a test passes one that counts a lookup's comparisons.</param>
    internal MemoryCacheStore(long capacityBytes, int maxVariantsPerUrl, EdgeCacheMetrics metrics, IEqualityComparer<string>? secondaryKeyComparer = null)
    {
        _capacity = capacityBytes;
        _maxVariantsPerUrl = maxVariantsPerUrl;
        _metrics = metrics;
        metrics.CapacityBytes.Set(capacityBytes);
        _secondaryKeyComparer = secondaryKeyComparer;
        _mapBySpan = _map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Variants stored (a URL without Vary is one).</summary>
    public int Count => Volatile.Read(ref _count);

    public long CapacityBytes => _capacity;

    public VariantSet? Get(string primaryKey) => _map.TryGetValue(primaryKey, out var set) ? set : null;

    /// <summary>The same lookup by the key's characters, so a hit need not build the key string.</summary>
    public VariantSet? Get(ReadOnlySpan<char> primaryKey) => _mapBySpan.TryGetValue(primaryKey, out var set) ? set : null;

    /// <summary>Adds or replaces one variant, then evicts until within budget.</summary>
    /// <remarks>Without a <see cref="CacheKey"/>, the variant has no path for purges to match: the fetch path stores with one.</remarks>
    public void Store(string primaryKey, CacheEntry entry)
    {
        lock (_listLock)
        {
            StoreLocked(primaryKey, null, entry);
        }
    }

    /// <summary>
    /// Stores a fetched variant unless a purge or invalidation recorded since the fetch began (<paramref name="generation"/>)
    /// covers the key's path; false when it does. Checked under the store's lock: a purge is recorded before it
    /// sweeps the store, so one landing around this call is either seen here or finds the entry in its sweep. Checked
    /// only before, the entry could go in just after the sweep and be served after the purge had returned.
    /// </summary>
    public bool Store(CacheKey key, CacheEntry entry, PurgeLog purges, long generation)
    {
        lock (_listLock)
        {
            if (purges.PurgedSince(generation, key.Path))
            {
                return false;
            }

            StoreLocked(key.Primary, key.Path, entry);
            return true;
        }
    }

    private void StoreLocked(string primaryKey, string? path, CacheEntry entry)
    {
        var size = CachedVariant.SizeOf(entry);
        if (size > _capacity)
        {
            return;
        }

        if (_map.TryGetValue(primaryKey, out var set) && !set.VaryNames.AsSpan().SequenceEqual(entry.VaryNames))
        {
            // The origin changed the URL's Vary: the variants selected by the old one can never be found again.
            RemoveSetLocked(set);
            set = null;
        }

        if (set is null)
        {
            set = new VariantSet(primaryKey, path, entry.VaryNames);
            _map[primaryKey] = set;
            _bytes += set.BookkeepingBytes;
        }

        if (set.FindVariant(entry.SecondaryKey) is { } stored)
        {
            // A newer response for the same variant keeps its place in the queue, as an update of the object it is.
            _bytes += size - stored.Size;
            stored.Entry = entry;
            stored.Size = size;
        }
        else
        {
            if (set.Count >= _maxVariantsPerUrl && set.LeastValuable() is { } victim)
            {
                // The URL is at its cap: it makes room from its own variants, not from the rest of the tier.
                RemoveVariantLocked(victim, keepEmptySet: true);
                _metrics.Evictions.Inc();
            }

            var bookkeeping = set.BookkeepingBytes;
            var variant = new CachedVariant(set, entry, size);
            set.Add(variant, _secondaryKeyComparer);
            variant.Next = _head;
            if (_head is not null)
            {
                _head.Prev = variant;
            }

            _head = variant;
            _tail ??= variant;
            _bytes += size + set.BookkeepingBytes - bookkeeping;
            _count++;
        }

        while (_bytes > _capacity && _tail is not null)
        {
            Evict();
        }

        Publish();
    }

    /// <summary>Replaces a variant only if the key still holds <paramref name="expected"/> (a 304 refresh racing a purge or a newer fill).</summary>
    public bool Replace(string primaryKey, CacheEntry expected, CacheEntry replacement)
    {
        lock (_listLock)
        {
            if (!_map.TryGetValue(primaryKey, out var set) || set.FindVariant(expected.SecondaryKey)?.Entry != expected)
            {
                return false;
            }

            // In the same hold as the check: a purge's sweep between the two would otherwise be undone by the store.
            StoreLocked(primaryKey, set.Path, replacement);
            return true;
        }
    }

    public bool Remove(string primaryKey)
    {
        lock (_listLock)
        {
            if (!_map.TryGetValue(primaryKey, out var set))
            {
                return false;
            }

            RemoveSetLocked(set);
            Publish();
            return true;
        }
    }

    /// <summary>Removes every primary key the predicate selects; returns how many entries (variants) went with them.</summary>
    public int RemoveWhere(Func<string, bool> predicate) => RemoveSets(set => predicate(set.PrimaryKey));

    /// <summary>Removes every URL whose path <paramref name="selected"/> selects (purges); returns how many entries went.</summary>
    public int RemovePaths(Func<string, bool> selected) => RemoveSets(set => set.Path is { } path && selected(path));

    private int RemoveSets(Func<VariantSet, bool> predicate)
    {
        var removed = 0;
        foreach (var (key, found) in _map)
        {
            if (!predicate(found))
            {
                continue;
            }

            lock (_listLock)
            {
                // The key's set now, not the one enumerated: a Vary change may have replaced it since.
                if (_map.TryGetValue(key, out var set) && predicate(set))
                {
                    removed += RemoveSetLocked(set);
                }
            }
        }

        lock (_listLock)
        {
            Publish();
        }

        return removed;
    }

    private void Evict()
    {
        var hand = _hand ?? _tail!;
        while (hand.Visited)
        {
            hand.Visited = false;
            hand = hand.Prev ?? _tail!;
        }

        _hand = hand.Prev;
        RemoveVariantLocked(hand);
        _metrics.Evictions.Inc();
    }

    /// <summary>Takes one variant out of its set and the queue; the set goes with its last variant unless one is about to join it.</summary>
    private void RemoveVariantLocked(CachedVariant variant, bool keepEmptySet = false)
    {
        var set = variant.Set;
        var bookkeeping = set.BookkeepingBytes;
        set.Remove(variant);
        Unlink(variant);
        if (set.Count == 0 && !keepEmptySet)
        {
            _map.TryRemove(new KeyValuePair<string, VariantSet>(set.PrimaryKey, set));
            _bytes -= bookkeeping;
        }
        else
        {
            _bytes += set.BookkeepingBytes - bookkeeping;
        }
    }

    /// <summary>Takes a whole set out of the map and its variants out of the queue; returns how many variants went.</summary>
    private int RemoveSetLocked(VariantSet set)
    {
        if (!_map.TryRemove(new KeyValuePair<string, VariantSet>(set.PrimaryKey, set)))
        {
            return 0;
        }

        // A reader that found the set just before keeps what it found, as it would had it been served a moment earlier.
        var removed = 0;
        foreach (var variant in set.Variants())
        {
            Unlink(variant);
            removed++;
        }

        _bytes -= set.BookkeepingBytes;
        return removed;
    }

    private void Unlink(CachedVariant variant)
    {
        if (_hand == variant)
        {
            _hand = variant.Prev;
        }

        if (variant.Prev is not null)
        {
            variant.Prev.Next = variant.Next;
        }
        else
        {
            _head = variant.Next;
        }

        if (variant.Next is not null)
        {
            variant.Next.Prev = variant.Prev;
        }
        else
        {
            _tail = variant.Prev;
        }

        variant.Prev = variant.Next = null;
        _bytes -= variant.Size;
        _count--;
    }

    private void Publish()
    {
        _metrics.StoredBytes.Set(_bytes);
        _metrics.StoredObjects.Set(_count);
    }

    /// <summary>
    /// What a URL keeps alive: its variants' entries and bookkeeping, plus the key string, the set and the dictionary's
    /// own node (measured with the heap in MemoryAccountingTests, so memoryBytes bounds the process and not just the bodies).
    /// </summary>
    public static long AccountedSize(VariantSet set) => set.BookkeepingBytes + set.Variants().Sum(v => v.Size);
}
