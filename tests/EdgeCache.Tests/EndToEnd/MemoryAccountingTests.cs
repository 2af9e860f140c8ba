using EdgeCache.Caching;
using EdgeCache.FastPath;
using EdgeCache.Fetching;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// What the memory tier counts for an entry against what the entry really keeps alive: on the heap, and in the in-memory
/// files that hold bodies of 85,000 bytes and more (listen.sendFile, <see cref="MappedBodyAllocator"/>).
/// </summary>
[Collection(MemoryAccountingCollection.Name)]
public sealed class MemoryAccountingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1024)]
    [InlineData(16 * 1024)]
    public async Task The_memory_tier_counts_at_least_what_its_entries_keep_alive(int bodySize)
    {
        // Many small objects are the worst case: per-entry overhead (headers, keys, bookkeeping) rivals the body. If the
        // tier counted less than it holds, memoryBytes would not bound the process and a pod sized by it is OOM-killed.
        var body = new byte[bodySize];
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "public, max-age=3600";
            ctx.Response.Headers.ETag = "\"" + ctx.Request.Path.Value!.GetHashCode().ToString("x8") + "\"";
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.Headers.LastModified = "Tue, 24 Nov 2026 10:00:00 GMT";
            ctx.Response.ContentLength = body.Length;
            return ctx.Response.Body.WriteAsync(body).AsTask();
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MemoryBytes = 512L * 1024 * 1024);
        var store = edge.Get<MemoryCacheStore>();
        var mapped = edge.Get<MappedBodyAllocator>();
        const int Warm = 500;
        const int Count = 3000;
        for (var i = 0; i < Warm; i++)
        {
            (await edge.Viewer.GetAsync($"/warm/{i}")).Dispose();
        }

        await CachingTests.Eventually(() => edge.Get<FetchCoordinator>().InFlightCount == 0);

        // Three rounds, the median live figure kept. Something else the process keeps during a round (a thread-pool
        // thread's buffers, a pool growing) adds to that round's figure; pooled memory it lets go of during one (idle
        // blocks trimmed) takes from it, which once read 1,552 B against the usual ~2,330.
        const int Rounds = 3;
        var lives = new List<double>();
        var counted = 0.0;
        for (var round = 0; round < Rounds; round++)
        {
            origin.Requests.Clear(); // the test origin's own record of each request is not the node's memory
            var liveBefore = LiveBytes() + mapped.FootprintBytes;
            var countedBefore = store.Bytes;
            for (var i = 0; i < Count; i++)
            {
                (await edge.Viewer.GetAsync($"/assets/img/product-{round}-{i:D6}.bin?v=3")).Dispose();
            }

            await CachingTests.Eventually(() => edge.Get<FetchCoordinator>().InFlightCount == 0);
            Assert.Equal(Count, origin.Requests.Count);
            origin.Requests.Clear();
            lives.Add((LiveBytes() + mapped.FootprintBytes - liveBefore) / (double)Count);
            counted = (store.Bytes - countedBefore) / (double)Count;
        }

        var live = lives.Order().ElementAt(Rounds / 2);
        output.WriteLine($"body {bodySize} B: live {live:0} B per entry ({string.Join(", ", lives.Select(l => l.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))}), counted {counted:0} B, {mapped.Live} bodies mapped");
        Assert.Equal(Warm + (Rounds * Count), store.Count);
        // Both sizes stay in arrays (in-memory files start at 85,000 bytes): what is counted is what the heap keeps.
        Assert.Equal(0, mapped.Live);
        Assert.True(counted >= live, $"counted {counted:0} B per entry but {live:0} B stay alive");
        Assert.True(counted <= live * 1.5 + 256, $"counted {counted:0} B per entry, far above the {live:0} B alive");
    }

    [Fact]
    public async Task Entries_whose_origin_sent_the_same_Cache_Control_share_one_parsed_copy()
    {
        // An origin sends a handful of distinct Cache-Control values across a catalogue; every stored entry keeping its
        // own parsed copy cost 128 B per entry for as long as it is cached.
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = ctx.Request.Path.StartsWithSegments("/short") ? "public, max-age=60" : "public, max-age=3600";
            return ctx.Response.WriteAsync("body");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        foreach (var path in new[] { "/a", "/b", "/short/c" })
        {
            (await edge.Viewer.GetAsync(path)).Dispose();
        }

        await CachingTests.Eventually(() => edge.Get<FetchCoordinator>().InFlightCount == 0);
        var store = edge.Get<MemoryCacheStore>();
        CacheEntry Stored(string path) => store.Get("0|" + path)?.Find("") ?? throw new InvalidOperationException($"{path} was not stored");
        Assert.Same(Stored("/a").CacheControl, Stored("/b").CacheControl);
        Assert.NotSame(Stored("/a").CacheControl, Stored("/short/c").CacheControl);
        Assert.Equal(TimeSpan.FromSeconds(60), Stored("/short/c").CacheControl.MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(3600), Stored("/b").FreshnessLifetime);
    }

    private static long LiveBytes()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

/// <summary>Heap measurements need the process to themselves: no other test allocating at the same time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryAccountingCollection
{
    public const string Name = "memory-accounting";
}
