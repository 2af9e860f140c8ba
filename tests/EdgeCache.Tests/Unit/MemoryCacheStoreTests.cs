using EdgeCache.Caching;
using EdgeCache.Observability;
using EdgeCache.Purging;

namespace EdgeCache.Tests.Unit;

/// <summary>The memory tier's byte budget and SIEVE eviction.</summary>
public sealed class MemoryCacheStoreTests
{
    private const int Body = 10_000;

    [Fact]
    public void Stays_within_its_byte_budget_and_counts_evictions()
    {
        var metrics = new EdgeCacheMetrics();
        var store = new MemoryCacheStore(50_000, metrics);
        for (var i = 0; i < 20; i++)
        {
            store.Store($"k{i}", Entry());
            Assert.True(store.Bytes <= 50_000);
        }

        Assert.True(store.Count < 20);
        Assert.Equal(20 - store.Count, metrics.Evictions.Value);
    }

    [Fact]
    public void A_visited_entry_survives_eviction_where_fifo_would_have_dropped_it()
    {
        var store = new MemoryCacheStore(45_000, new EdgeCacheMetrics());
        store.Store("hot", Entry());
        store.Store("a", Entry());
        store.Store("b", Entry());
        store.Store("c", Entry());
        Assert.NotNull(store.Get("hot")!.Find(""));

        // "hot" is the oldest entry, so FIFO would evict it first; SIEVE's hand skips it (visited) and takes the
        // unvisited entries behind it.
        store.Store("d", Entry());
        store.Store("e", Entry());
        store.Store("f", Entry());

        Assert.NotNull(store.Get("hot"));
        Assert.Null(store.Get("a"));
        Assert.Null(store.Get("b"));
    }

    [Fact]
    public void Replace_swaps_only_the_expected_entry()
    {
        var store = new MemoryCacheStore(1_000_000, new EdgeCacheMetrics());
        var original = Entry();
        store.Store("k", original);
        var refreshed = Entry();
        Assert.True(store.Replace("k", original, refreshed));
        Assert.Same(refreshed, store.Get("k")!.Find(""));
        Assert.False(store.Replace("k", original, Entry()));
        Assert.False(store.Replace("missing", original, Entry()));
    }

    [Fact]
    public void Remove_and_remove_where_count_what_went()
    {
        var store = new MemoryCacheStore(1_000_000, new EdgeCacheMetrics());
        store.Store("0|/a", Entry());
        store.Store("0|/b", Entry());
        store.Store("0|/c", Entry());
        Assert.True(store.Remove("0|/a"));
        Assert.False(store.Remove("0|/a"));
        Assert.Equal(1, store.RemoveWhere(k => k.EndsWith("/b", StringComparison.Ordinal)));
        Assert.Equal(1, store.Count);
        Assert.Equal(MemoryCacheStore.AccountedSize(store.Get("0|/c")!), store.Bytes);
    }

    [Fact]
    public void An_entry_larger_than_the_whole_budget_is_not_stored()
    {
        var store = new MemoryCacheStore(5_000, new EdgeCacheMetrics());
        store.Store("big", Entry());
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.Bytes);
    }

    [Fact]
    public void A_key_looked_up_by_its_characters_finds_the_same_entry()
    {
        var store = new MemoryCacheStore(50_000, new EdgeCacheMetrics());
        store.Store("0|/a?x=1", Entry());
        Assert.Same(store.Get("0|/a?x=1"), store.Get("0|/a?x=1!".AsSpan(0, 8)));
        Assert.Null(store.Get("0|/a".AsSpan()));
    }

    [Fact]
    public void A_fill_is_not_stored_when_a_purge_recorded_since_its_fetch_began_covers_it()
    {
        var store = new MemoryCacheStore(1_000_000, new EdgeCacheMetrics());
        var purges = new PurgeLog();
        var began = purges.Generation;
        purges.Record(PurgeMatcher.TryCreate(new PurgeRequest { Paths = ["/purged"] }, out _)!);

        // The purge had already swept the store when these fills arrive: the covered one must not go in after it.
        Assert.False(store.Store(new CacheKey("0|/purged", "/purged"), Entry(), purges, began));
        Assert.Null(store.Get("0|/purged"));
        Assert.Equal(0, store.Count);

        Assert.True(store.Store(new CacheKey("0|/other", "/other"), Entry(), purges, began));
        Assert.NotNull(store.Get("0|/other"));
        Assert.True(store.Store(new CacheKey("0|/purged", "/purged"), Entry(), purges, purges.Generation));
        Assert.NotNull(store.Get("0|/purged"));
    }

    private static CacheEntry Entry() => new()
    {
        StatusCode = 200,
        Headers = FreshnessTests.Headers(("Content-Type", "text/plain")),
        Body = CachedBody.FromBytes(new byte[Body]),
        RequestTime = DateTimeOffset.UnixEpoch,
        ResponseTime = DateTimeOffset.UnixEpoch,
        CorrectedInitialAge = TimeSpan.Zero,
        FreshnessLifetime = TimeSpan.FromMinutes(1),
        CacheControl = CacheControl.Empty,
        VaryNames = [],
        SecondaryKey = "",
    };
}
