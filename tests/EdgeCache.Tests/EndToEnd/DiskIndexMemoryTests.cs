using EdgeCache.Caching;
using EdgeCache.Disk;
using EdgeCache.Fetching;
using EdgeCache.Hosting;
using EdgeCache.Memory;
using EdgeCache.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// The disk tier's index lives on the heap, beside the memory tier: it is bounded by cache.disk.maxEntries, costs what
/// <see cref="MemoryBudget.DiskIndexBytesPerEntry"/> says per entry, and lets go of what it evicts.
/// </summary>
[Collection(MemoryAccountingCollection.Name)]
public sealed class DiskIndexMemoryTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("edgecache-disk-index-").FullName;

    [Fact]
    public async Task The_disk_tier_keeps_at_most_maxEntries_entries_oldest_out_first()
    {
        await using var origin = await SmallObjects();
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.Disk.Directory = _directory;
            o.Cache.Disk.MaxEntries = 4;
        });
        var disk = edge.Get<DiskCacheStore>();
        for (var i = 0; i < 10; i++)
        {
            (await edge.Viewer.GetAsync($"/o/{i}")).Dispose();
            var expected = Math.Min(i + 1, 4);
            await CachingTests.Eventually(() => Settled(edge) && disk.Count == expected && Entries() == expected);
        }

        Assert.Equal(4, disk.IndexedUrls);
        Assert.Equal(10 - 4, (int)edge.Get<Observability.EdgeCacheMetrics>().DiskEvictions.Value);
    }

    [Fact]
    public async Task A_url_evicted_for_bytes_leaves_nothing_in_the_disk_index()
    {
        // A stream of unique URLs through a full disk tier: each evicted URL's variant set stayed in the index, empty,
        // for the life of the process.
        await using var origin = await SmallObjects(16 * 1024);
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.Disk.Directory = _directory;
            o.Cache.Disk.MaxBytes = 1024 * 1024;
        });
        var disk = edge.Get<DiskCacheStore>();
        for (var i = 0; i < 200; i++)
        {
            (await edge.Viewer.GetAsync($"/unique/{i}")).Dispose();
        }

        await CachingTests.Eventually(() => Settled(edge));
        Assert.True(disk.Count < 100, $"{disk.Count} entries: the byte budget should have evicted some");
        Assert.Equal(disk.Count, disk.IndexedUrls);
    }

    [Fact]
    public async Task A_disk_entry_keeps_at_most_DiskIndexBytesPerEntry_on_the_heap()
    {
        await using var origin = await SmallObjects();
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            // The smallest memory tier, kept full: what it holds stays the same while the disk index grows.
            o.Cache.MemoryBytes = 1024 * 1024;
            o.Cache.MaxObjectBytes = 64 * 1024;
            o.Cache.Disk.Directory = _directory;
        });
        var disk = edge.Get<DiskCacheStore>();
        for (var i = 0; i < 800; i++)
        {
            (await edge.Viewer.GetAsync($"/warm/{i}")).Dispose();
        }

        await CachingTests.Eventually(() => Settled(edge));
        var lives = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            origin.Requests.Clear();
            var (countBefore, liveBefore) = (disk.Count, LiveBytes());
            for (var i = 0; i < 800; i++)
            {
                (await edge.Viewer.GetAsync($"/assets/img/product-{round}-{i:D6}.bin?v=3")).Dispose();
            }

            await CachingTests.Eventually(() => Settled(edge));
            origin.Requests.Clear();
            var added = disk.Count - countBefore;
            Assert.True(added > 400, $"only {added} of 800 entries reached the disk");
            lives.Add((LiveBytes() - liveBefore) / (double)added);
        }

        var live = lives.Order().ElementAt(1);
        output.WriteLine($"disk index: {live:0} B per entry ({string.Join(", ", lives.Select(l => l.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))})");
        Assert.True(live <= MemoryBudget.DiskIndexBytesPerEntry, $"{live:0} B per disk entry stay on the heap, above the {MemoryBudget.DiskIndexBytesPerEntry} B the memory budget assumes");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Every fetch done and every write it queued taken by the disk writer (written, or skipped).</summary>
    private static bool Settled(EdgeNode edge) =>
        edge.Get<FetchCoordinator>().InFlightCount == 0 && edge.Get<DiskCacheStore>().WritesQueued == edge.Get<DiskCacheStore>().WritesHandled;

    private int Entries() => Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Count();

    private static Task<TestOrigin> SmallObjects(int size = 1024)
    {
        var body = new byte[size];
        return TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "public, max-age=3600";
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.ContentLength = body.Length;
            return ctx.Response.Body.WriteAsync(body).AsTask();
        });
    }

    private static long LiveBytes()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
