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
/// </summary>
public sealed class MemoryCacheStore
{
    private readonly ConcurrentDictionary<string, Node> _map = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _mapBySpan;
    private readonly Lock _listLock = new();
    private readonly long _capacity;
    private readonly EdgeCacheMetrics _metrics;

    // SIEVE queue: new nodes at the head; the hand walks from the tail towards the head.
    private Node? _head;
    private Node? _tail;
    private Node? _hand;
    private long _bytes;

    // Keys in _map, kept here because every add and remove is under _listLock: ConcurrentDictionary.Count takes every
    // one of the dictionary's locks (up to 1024 once it has grown), which on each store cost ~10 % of the miss path's CPU.
    private int _count;

    public MemoryCacheStore(IOptions<EdgeCacheOptions> options, EdgeCacheMetrics metrics)
        : this(options.Value.Cache.MemoryBytes, metrics)
    {
    }

    public MemoryCacheStore(long capacityBytes, EdgeCacheMetrics metrics)
    {
        _capacity = capacityBytes;
        _metrics = metrics;
        _mapBySpan = _map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => Volatile.Read(ref _count);

    public long CapacityBytes => _capacity;

    public VariantSet? Get(string primaryKey)
    {
        if (_map.TryGetValue(primaryKey, out var node))
        {
            node.Visited = true;
            return node.Set;
        }

        return null;
    }

    /// <summary>The same lookup by the key's characters, so a hit need not build the key string.</summary>
    public VariantSet? Get(ReadOnlySpan<char> primaryKey)
    {
        if (_mapBySpan.TryGetValue(primaryKey, out var node))
        {
            node.Visited = true;
            return node.Set;
        }

        return null;
    }

    /// <summary>Adds or replaces one variant, then evicts until within budget.</summary>
    public void Store(string primaryKey, CacheEntry entry)
    {
        lock (_listLock)
        {
            StoreLocked(primaryKey, entry);
        }
    }

    /// <summary>
    /// Stores a fetched variant unless a purge or invalidation recorded since the fetch began (<paramref name="generation"/>)
    /// covers <paramref name="path"/>; false when it does. Checked under the store's lock: a purge is recorded before it
    /// sweeps the store, so one landing around this call is either seen here or finds the entry in its sweep. Checked
    /// only before, the entry could go in just after the sweep and be served after the purge had returned.
    /// </summary>
    public bool Store(string primaryKey, CacheEntry entry, PurgeLog purges, long generation, string path)
    {
        lock (_listLock)
        {
            if (purges.PurgedSince(generation, path))
            {
                return false;
            }

            StoreLocked(primaryKey, entry);
            return true;
        }
    }

    private void StoreLocked(string primaryKey, CacheEntry entry)
    {
        if (_map.TryGetValue(primaryKey, out var node))
        {
            var set = node.Set.With(entry);
            var size = AccountedSize(primaryKey, set);
            _bytes += size - node.Size;
            node.Set = set;
            node.Size = size;
        }
        else
        {
            var set = VariantSet.Single(entry);
            node = new Node(primaryKey, set, AccountedSize(primaryKey, set));
            if (node.Size > _capacity)
            {
                return;
            }

            _map[primaryKey] = node;
            _count++;
            node.Next = _head;
            if (_head is not null)
            {
                _head.Prev = node;
            }

            _head = node;
            _tail ??= node;
            _bytes += node.Size;
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
            if (!_map.TryGetValue(primaryKey, out var node) || node.Set.Find(expected.SecondaryKey) != expected)
            {
                return false;
            }

            // In the same hold as the check: a purge's sweep between the two would otherwise be undone by the store.
            StoreLocked(primaryKey, replacement);
            return true;
        }
    }

    public bool Remove(string primaryKey)
    {
        lock (_listLock)
        {
            if (!_map.TryRemove(primaryKey, out var node))
            {
                return false;
            }

            _count--;
            Unlink(node);
            Publish();
            return true;
        }
    }

    /// <summary>Removes every primary key the predicate selects; returns how many entries (variants) went with them.</summary>
    public int RemoveWhere(Func<string, bool> predicate)
    {
        var removed = 0;
        foreach (var key in _map.Keys)
        {
            if (!predicate(key))
            {
                continue;
            }

            lock (_listLock)
            {
                if (_map.TryRemove(key, out var node))
                {
                    _count--;
                    Unlink(node);
                    removed += node.Set.Count;
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
        if (_map.TryRemove(new KeyValuePair<string, Node>(hand.Key, hand)))
        {
            _count--;
        }

        Unlink(hand);
        _metrics.Evictions.Inc();
    }

    private void Unlink(Node node)
    {
        if (_hand == node)
        {
            _hand = node.Prev;
        }

        if (node.Prev is not null)
        {
            node.Prev.Next = node.Next;
        }
        else
        {
            _head = node.Next;
        }

        if (node.Next is not null)
        {
            node.Next.Prev = node.Prev;
        }
        else
        {
            _tail = node.Prev;
        }

        node.Prev = node.Next = null;
        _bytes -= node.Size;
    }

    private void Publish()
    {
        _metrics.StoredBytes.Set(_bytes);
        _metrics.StoredObjects.Set(_count);
    }

    /// <summary>
    /// What a key keeps alive: its entries, plus the key string, the SIEVE node and the dictionary's own node (measured
    /// with the heap in MemoryAccountingTests, so memoryBytes bounds the process and not just the bodies).
    /// </summary>
    public static long AccountedSize(string primaryKey, VariantSet set) => set.Size + 160 + CacheEntry.StringBytes(primaryKey.Length);

    private sealed class Node(string key, VariantSet set, long size)
    {
        public string Key { get; } = key;

        public VariantSet Set { get; set; } = set;

        public long Size { get; set; } = size;

        public volatile bool Visited;

        public Node? Prev { get; set; }

        public Node? Next { get; set; }
    }
}
