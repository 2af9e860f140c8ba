using EdgeCache.Caching;
using EdgeCache.Disk;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>Responses with Vary on a real node: one URL's variants cannot take over either tier.</summary>
public sealed class VariantTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("edgecache-variants-").FullName;

    [Fact]
    public async Task A_url_flooded_with_variants_does_not_evict_the_objects_viewers_come_back_for()
    {
        var objectBody = new byte[8 * 1024];
        var floodBody = new byte[4 * 1024];
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            var flood = ctx.Request.Path == "/flood";
            ctx.Response.Headers.CacheControl = "max-age=3600";
            if (flood)
            {
                ctx.Response.Headers.Vary = "Accept-Language";
            }

            var body = flood ? floodBody : objectBody;
            ctx.Response.ContentLength = body.Length;
            return ctx.Response.Body.WriteAsync(body).AsTask();
        });

        // The cap is set out of the way: eviction one variant at a time must hold the line by itself.
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.MemoryBytes = 16L * 1024 * 1024;
            o.Cache.MaxVariantsPerUrl = 10_000;
        });

        const int Objects = 800;
        await ForEachAsync(Enumerable.Range(0, Objects), async i =>
        {
            (await edge.Viewer.GetAsync($"/obj/{i}")).Dispose();
            using var hit = await edge.Viewer.GetAsync($"/obj/{i}");
            Assert.Equal("Hit", hit.XCache());
        });

        // Many times the tier in variants of one URL, each requested once.
        await ForEachAsync(Enumerable.Range(0, 6_000), async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/flood");
            request.Headers.TryAddWithoutValidation("Accept-Language", $"x-{i}");
            using var response = await edge.Viewer.SendAsync(request);
            Assert.Equal("Miss", response.XCache());
        });

        var store = edge.Get<MemoryCacheStore>();
        Assert.True(store.Bytes <= 16L * 1024 * 1024);
        Assert.InRange(store.Get("0|/flood")!.Count, 1, 5_999);
        var kept = 0;
        for (var i = 0; i < Objects; i++)
        {
            using var again = await edge.Viewer.GetAsync($"/obj/{i}");
            kept += again.XCache() == "Hit" ? 1 : 0;
        }

        Assert.Equal(Objects, kept);
    }

    [Fact]
    public async Task Both_tiers_keep_at_most_maxVariantsPerUrl_variants_of_a_url()
    {
        await using var origin = await VaryingOrigin(TimeSpan.Zero);
        DiskCacheStore disk;
        await using (var edge = await StartAsync(origin, o =>
        {
            o.Cache.MaxVariantsPerUrl = 4;
            o.Cache.Disk.Directory = _directory;
        }))
        {
            disk = edge.Get<DiskCacheStore>();
            foreach (var lang in new[] { "en", "fr", "de", "es", "it", "nl" })
            {
                var (cache, body) = await GetAsync(edge, lang);
                Assert.Equal(("Miss", "lang=" + lang), (cache, body));
            }

            var variants = edge.Get<MemoryCacheStore>().Get("0|/v")!;
            Assert.Equal(4, variants.Count);
            Assert.Equal(("Hit", "lang=nl"), await GetAsync(edge, "nl"));
        }

        // Shutdown finishes the queued disk writes: the two oldest variants' files are gone again.
        Assert.Equal(4, disk.Count);
        Assert.Equal(4, Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Count());

        // A node started with a lower cap applies it to what it finds on disk.
        await using var restarted = await StartAsync(origin, o =>
        {
            o.Cache.MaxVariantsPerUrl = 2;
            o.Cache.Disk.Directory = _directory;
        });
        Assert.Equal(2, restarted.Get<DiskCacheStore>().Count);
        Assert.Equal(2, Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Count());
    }

    [Fact]
    public async Task Rfc9111_4_1_a_viewer_whose_accept_language_differs_only_in_order_space_and_case_is_a_hit_in_both_tiers()
    {
        await using var origin = await VaryingOrigin(TimeSpan.Zero);
        await using (var edge = await StartAsync(origin, o => o.Cache.Disk.Directory = _directory))
        {
            Assert.Equal(("Miss", "lang=en-US, fr;q=0.5"), await GetAsync(edge, "en-US, fr;q=0.5"));
            Assert.Equal(("Hit", "lang=en-US, fr;q=0.5"), await GetAsync(edge, "FR ; q=0.5 ,en-us"));
            Assert.Equal("Miss", (await GetAsync(edge, "fr, en-US;q=0.5")).Cache);
        }

        // A restarted node finds the variant on disk by the same normalised key.
        await using var restarted = await StartAsync(origin, o => o.Cache.Disk.Directory = _directory);
        Assert.Equal(("Hit", "lang=en-US, fr;q=0.5"), await GetAsync(restarted, "fr;q=0.500,   EN-US"));
        Assert.Equal(2, origin.Count("/v"));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>An origin answering /v per Accept-Language (forwarded by the node's behavior) after <paramref name="delay"/>.</summary>
    internal static Task<TestOrigin> VaryingOrigin(TimeSpan delay) => TestOrigin.StartAsync(async ctx =>
    {
        await Task.Delay(delay);
        ctx.Response.Headers.CacheControl = "max-age=3600";
        ctx.Response.Headers.Vary = "Accept-Language";
        await ctx.Response.WriteAsync("lang=" + ctx.Request.Headers.AcceptLanguage);
    });

    /// <summary>A node whose behavior forwards Accept-Language, so the origin can answer per language.</summary>
    internal static Task<EdgeNode> StartAsync(TestOrigin origin, Action<Configuration.EdgeCacheOptions>? configure = null) => EdgeNode.StartAsync(origin, o =>
    {
        o.Behaviors[0].OriginRequest.Headers.Add("Accept-Language");
        configure?.Invoke(o);
    });

    internal static HttpRequestMessage Request(string language)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v");
        request.Headers.TryAddWithoutValidation("Accept-Language", language);
        return request;
    }

    internal static async Task<(string Cache, string Body)> GetAsync(EdgeNode edge, string language)
    {
        using var request = Request(language);
        using var response = await edge.Viewer.SendAsync(request);
        return (response.XCache(), await response.Content.ReadAsStringAsync());
    }

    private static Task ForEachAsync(IEnumerable<int> items, Func<int, Task> body) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) => await body(i));
}
