using EdgeCache.Caching;
using EdgeCache.Observability;

namespace EdgeCache.Tests.Unit;

/// <summary>The memory tier's variants (Vary): a cap per URL, eviction one variant at a time, and lookup by key.</summary>
public sealed class VariantStoreTests
{
    private static readonly string[] AcceptLanguage = ["accept-language"];

    [Fact]
    public void A_variant_past_the_cap_evicts_one_of_that_urls_variants_and_not_a_hit_one()
    {
        var metrics = new EdgeCacheMetrics();
        var store = new MemoryCacheStore(10_000_000, maxVariantsPerUrl: 4, metrics);
        store.Store("0|/other", Entry([], "", 1000));
        foreach (var lang in new[] { "a", "b", "c", "d" })
        {
            store.Store("0|/v", Entry(AcceptLanguage, lang, 1000));
        }

        // "a" is the oldest but has been hit: "b", the oldest not hit, makes room for "e".
        Assert.NotNull(store.Get("0|/v")!.Find(Key("a")));
        store.Store("0|/v", Entry(AcceptLanguage, "e", 1000));

        var set = store.Get("0|/v")!;
        Assert.Equal(4, set.Count);
        Assert.Null(set.Find(Key("b")));
        Assert.All(new[] { "a", "c", "d", "e" }, lang => Assert.NotNull(set.Find(Key(lang))));
        Assert.NotNull(store.Get("0|/other"));
        Assert.Equal(1, metrics.Evictions.Value);
        Assert.Equal(5, store.Count);

        // A new response for a stored variant replaces it in place: no eviction.
        store.Store("0|/v", Entry(AcceptLanguage, "c", 2000));
        Assert.Equal(4, store.Get("0|/v")!.Count);
        Assert.Equal(1, metrics.Evictions.Value);
        Assert.Equal(AccountedTotal(store, "0|/v", "0|/other"), store.Bytes);
    }

    [Fact]
    public void A_flood_of_variants_on_one_url_evicts_variants_one_at_a_time_and_leaves_hit_objects_in_place()
    {
        // The cap is set out of the way here: eviction alone must keep one URL from taking the tier.
        var store = new MemoryCacheStore(4_000_000, maxVariantsPerUrl: 10_000, new EdgeCacheMetrics());
        for (var i = 0; i < 200; i++)
        {
            store.Store($"0|/obj{i}", Entry([], "", 10_000));
            Assert.NotNull(store.Get($"0|/obj{i}")!.Find(""));
        }

        for (var i = 0; i < 5_000; i++)
        {
            store.Store("0|/flood", Entry(AcceptLanguage, $"x{i}", 1_000));
            Assert.True(store.Bytes <= 4_000_000);
        }

        for (var i = 0; i < 200; i++)
        {
            Assert.NotNull(store.Get($"0|/obj{i}")?.Find(""));
        }

        // The flood keeps its most recent variants, not all or nothing.
        var flood = store.Get("0|/flood")!;
        Assert.InRange(flood.Count, 100, 4_999);
        Assert.NotNull(flood.Find(Key("x4999")));
        Assert.Null(flood.Find(Key("x0")));
        Assert.Equal(200 + flood.Count, store.Count);
    }

    [Fact]
    public void A_variant_is_found_by_its_key_without_comparing_against_the_others()
    {
        var comparer = new CountingComparer();
        var store = new MemoryCacheStore(100_000_000, maxVariantsPerUrl: 10_000, new EdgeCacheMetrics(), comparer);
        for (var i = 0; i < 5_000; i++)
        {
            store.Store("0|/v", Entry(AcceptLanguage, $"x{i}", 10));
        }

        var set = store.Get("0|/v")!;
        Assert.Equal(5_000, set.Count);
        foreach (var i in new[] { 0, 2_500, 4_999 })
        {
            comparer.Equalities = 0;
            Assert.NotNull(set.Find(Key($"x{i}")));
            Assert.True(comparer.Equalities <= 2, $"finding variant {i} of 5,000 took {comparer.Equalities} key comparisons");
        }

        comparer.Equalities = 0;
        Assert.Null(set.Find(Key("absent")));
        Assert.True(comparer.Equalities <= 2, $"a missing variant took {comparer.Equalities} key comparisons");
    }

    [Fact]
    public void A_Vary_change_replaces_every_variant_of_the_url_and_removals_release_every_byte()
    {
        var store = new MemoryCacheStore(10_000_000, maxVariantsPerUrl: 100, new EdgeCacheMetrics());
        for (var i = 0; i < 20; i++)
        {
            store.Store("0|/v", Entry(AcceptLanguage, $"x{i}", 1000));
        }

        store.Store("0|/w", Entry(AcceptLanguage, "x", 1000));
        store.Store("0|/v", Entry(["x-other"], "y", 1000));
        var set = store.Get("0|/v")!;
        Assert.Equal(1, set.Count);
        Assert.Equal(["x-other"], set.VaryNames);
        Assert.Equal(2, store.Count);
        Assert.Equal(AccountedTotal(store, "0|/v", "0|/w"), store.Bytes);

        for (var i = 0; i < 20; i++)
        {
            store.Store("0|/w", Entry(AcceptLanguage, $"x{i}", 1000));
        }

        Assert.Equal(21, store.RemoveWhere(k => k == "0|/w"));
        Assert.True(store.Remove("0|/v"));
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.Bytes);
    }

    internal static string Key(string language) => $"accept-language={language}\n";

    private static long AccountedTotal(MemoryCacheStore store, params string[] keys) =>
        keys.Sum(k => MemoryCacheStore.AccountedSize(store.Get(k)!));

    private static CacheEntry Entry(string[] varyNames, string language, int bodyBytes) => new()
    {
        StatusCode = 200,
        Headers = FreshnessTests.Headers(("Content-Type", "text/plain")),
        Body = CachedBody.FromBytes(new byte[bodyBytes]),
        RequestTime = DateTimeOffset.UnixEpoch,
        ResponseTime = DateTimeOffset.UnixEpoch,
        CorrectedInitialAge = TimeSpan.Zero,
        FreshnessLifetime = TimeSpan.FromMinutes(1),
        CacheControl = CacheControl.Empty,
        VaryNames = varyNames,
        SecondaryKey = varyNames.Length == 0 ? "" : $"{varyNames[0]}={language}\n",
    };

    /// <summary>Ordinal, counting the key comparisons a lookup makes.</summary>
    private sealed class CountingComparer : IEqualityComparer<string>
    {
        public int Equalities { get; set; }

        public bool Equals(string? x, string? y)
        {
            Equalities++;
            return string.Equals(x, y, StringComparison.Ordinal);
        }

        public int GetHashCode(string obj) => obj.GetHashCode(StringComparison.Ordinal);
    }
}
