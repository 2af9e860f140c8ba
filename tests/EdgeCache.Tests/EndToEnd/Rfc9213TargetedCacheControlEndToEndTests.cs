using EdgeCache.Configuration;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// Targeted cache-control (RFC 9213) through the real node: CDN-Cache-Control and the node's own field decide what the
/// node stores and for how long, viewers get Cache-Control as the origin sent it, and the node's own field never leaves.
/// </summary>
public sealed class Rfc9213TargetedCacheControlEndToEndTests
{
    [Fact]
    public async Task Rfc9213_2_1_cdn_cache_control_lets_the_node_cache_what_browsers_must_not()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "cdn", "Cache-Control: private, no-store", "CDN-Cache-Control: max-age=600"));
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/cdn");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/cdn");

        Assert.Equal("Hit", second.Header("X-Cache"));
        Assert.Equal(1, origin.Count("/cdn"));
        foreach (var response in new[] { first, second })
        {
            Assert.Equal("cdn", response.BodyText);
            Assert.Equal("private, no-store", response.Header("Cache-Control"));
            Assert.Equal("max-age=600", response.Header("CDN-Cache-Control"));
        }
    }

    [Fact]
    public async Task Rfc9213_2_1_cdn_cache_control_shortens_what_cache_control_allows()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "short", "Cache-Control: public, max-age=3600", "CDN-Cache-Control: max-age=10"));
        await using var edge = await StartNodeAsync(origin);

        await RawViewer.GetAsync(edge.ViewerPort, "/short");
        edge.Time.Advance(TimeSpan.FromSeconds(11));
        var later = await RawViewer.GetAsync(edge.ViewerPort, "/short");

        Assert.NotEqual("Hit", later.Header("X-Cache"));
        Assert.Equal(2, origin.Count("/short"));
    }

    [Fact]
    public async Task Rfc9213_2_1_an_invalid_cdn_cache_control_is_ignored_for_cache_control()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "bad", "Cache-Control: public, max-age=600", "CDN-Cache-Control: no-store,"));
        await using var edge = await StartNodeAsync(origin);

        await RawViewer.GetAsync(edge.ViewerPort, "/bad");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/bad");

        Assert.Equal("Hit", second.Header("X-Cache"));
        Assert.Equal("no-store,", second.Header("CDN-Cache-Control"));
    }

    [Fact]
    public async Task Rfc9213_2_1_the_nodes_own_field_wins_and_never_reaches_a_viewer()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "own", "Cache-Control: no-store", "CDN-Cache-Control: no-store", "EdgeCache-Cache-Control: max-age=600"));
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/own");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/own");

        Assert.Equal("Hit", second.Header("X-Cache"));
        foreach (var response in new[] { first, second })
        {
            Assert.Null(response.Header("EdgeCache-Cache-Control"));
            Assert.Equal("no-store", response.Header("CDN-Cache-Control"));
        }
    }

    [Fact]
    public async Task Rfc9213_2_1_the_nodes_own_field_is_removed_from_a_response_passed_to_one_viewer()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "mine", "Cache-Control: public, max-age=600", "EdgeCache-Cache-Control: private"));
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/mine");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/mine");

        Assert.Equal(2, origin.Count("/mine"));
        foreach (var response in new[] { first, second })
        {
            Assert.Equal("mine", response.BodyText);
            Assert.Null(response.Header("EdgeCache-Cache-Control"));
            Assert.Equal("public, max-age=600", response.Header("Cache-Control"));
        }
    }

    [Fact]
    public async Task Rfc9213_2_1_a_behavior_that_strips_cdn_cache_control_still_honours_it()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "strip", "Cache-Control: no-cache", "CDN-Cache-Control: max-age=600"));
        await using var edge = await StartNodeAsync(origin, o => o.Behaviors[0].StripCdnCacheControl = true);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/strip");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/strip");

        Assert.Equal("Hit", second.Header("X-Cache"));
        foreach (var response in new[] { first, second })
        {
            Assert.Null(response.Header("CDN-Cache-Control"));
            Assert.Equal("no-cache", response.Header("Cache-Control"));
        }
    }

    [Fact]
    public async Task Rfc9213_2_1_the_targeted_field_name_comes_from_config()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "acme", "Cache-Control: no-store", "Acme-Cache-Control: max-age=600", "EdgeCache-Cache-Control: no-store"));
        await using var edge = await StartNodeAsync(origin, o => o.Cache.TargetedCacheControl = "Acme-Cache-Control");

        await RawViewer.GetAsync(edge.ViewerPort, "/acme");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/acme");

        Assert.Equal("Hit", second.Header("X-Cache"));
        Assert.Null(second.Header("Acme-Cache-Control"));
        Assert.Equal("no-store", second.Header("EdgeCache-Cache-Control"));
    }

    private static Task<EdgeNode> StartNodeAsync(RawOrigin origin, Action<EdgeCacheOptions>? configure = null) =>
        EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions { Id = "origin", Type = "http", Url = origin.Url, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "origin" });
            configure?.Invoke(o);
        });
}
