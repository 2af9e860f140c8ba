using EdgeCache.Configuration;
using EdgeCache.Observability;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// originRequest.headers "allViewer" / "allViewerExceptHost" and cookies "all" on real sockets: the origin sees the
/// viewer's end-to-end fields (never hop-by-hop ones or a viewer's X-Forwarded-*), the key stays the behavior's, and a
/// response is stored only when its Vary names every unkeyed field that was forwarded (RFC 9111 4.1).
/// </summary>
public sealed class AllViewerHeadersTests
{
    [Fact]
    public async Task All_viewer_headers_except_host_reach_the_origin_and_an_unvaried_response_is_not_stored()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            return ctx.Response.WriteAsync("for " + ctx.Request.Headers["X-Custom"]);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].OriginRequest.Headers = ForwardedNames.Keyword("allViewerExceptHost"));

        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/p");
            request.Headers.Add("X-Custom", "v" + i);
            request.Headers.Add("X-Forwarded-For", "203.0.113.9");
            request.Headers.Add("Proxy-Authorization", "Basic eA==");
            request.Headers.Host = "viewer.example";
            using var response = await edge.Viewer.SendAsync(request);
            Assert.Equal("for v" + i, await response.Content.ReadAsStringAsync());
            Assert.Equal("Miss", response.XCache());
            Assert.Contains("detail=unvaried:x-custom", response.Header("Cache-Status"), StringComparison.Ordinal);
        }

        var seen = origin.Requests.Last().Headers;
        Assert.Equal("v1", seen["X-Custom"]);
        Assert.False(seen.ContainsKey("X-Forwarded-For"));
        Assert.False(seen.ContainsKey("Proxy-Authorization"));
        Assert.Equal($"127.0.0.1:{origin.Port}", seen["Host"]);
        Assert.Equal(2, origin.Count("/p"));
    }

    [Fact]
    public async Task A_viewer_collapsed_into_a_fetch_that_forwarded_another_viewers_headers_never_gets_its_response()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            if (ctx.Request.Headers["X-Custom"] == "a")
            {
                await release.Task;
            }

            ctx.Response.Headers.CacheControl = "max-age=600";
            await ctx.Response.WriteAsync("for " + ctx.Request.Headers["X-Custom"]);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].OriginRequest.Headers = ForwardedNames.Keyword("allViewerExceptHost"));

        Task<HttpResponseMessage> Get(string custom)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/c");
            request.Headers.Add("X-Custom", custom);
            return edge.Viewer.SendAsync(request);
        }

        var first = Get("a");
        await CachingTests.Eventually(() => origin.Count("/c") == 1);
        var second = Get("b");
        await CachingTests.Eventually(() => edge.Get<EdgeCacheMetrics>().CollapsedWaiters.Value >= 1);
        release.SetResult();

        using var a = await first;
        using var b = await second;
        Assert.Equal("for a", await a.Content.ReadAsStringAsync());
        Assert.Equal("for b", await b.Content.ReadAsStringAsync());
        Assert.Contains("fwd=bypass", b.Header("Cache-Status"), StringComparison.Ordinal);
        Assert.Contains("detail=released:unvaried:x-custom", b.Header("Cache-Status"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rfc9111_4_1_a_response_whose_vary_names_the_forwarded_headers_is_stored_per_variant()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.Headers.Vary = "X-Custom";
            return ctx.Response.WriteAsync("for " + ctx.Request.Headers["X-Custom"]);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].OriginRequest.Headers = ForwardedNames.Keyword("allViewerExceptHost"));

        async Task<(string Body, string Cache)> Get(string custom)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v");
            request.Headers.Add("X-Custom", custom);
            using var response = await edge.Viewer.SendAsync(request);
            return (await response.Content.ReadAsStringAsync(), response.XCache());
        }

        Assert.Equal(("for a", "Miss"), await Get("a"));
        Assert.Equal(("for a", "Hit"), await Get("a"));
        Assert.Equal(("for b", "Miss"), await Get("b"));
        Assert.Equal(("for b", "Hit"), await Get("b"));
        Assert.Equal(2, origin.Count("/v"));
    }

    [Fact]
    public async Task All_viewer_headers_send_the_viewers_host_and_all_cookies_send_every_cookie()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.Headers.Vary = "Host, Cookie";
            return ctx.Response.WriteAsync("ok");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Behaviors[0].OriginRequest.Headers = ForwardedNames.Keyword("allViewer");
            o.Behaviors[0].OriginRequest.Cookies = ForwardedNames.Keyword("all");
        });

        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/h");
            request.Headers.Host = "viewer.example";
            request.Headers.Add("Cookie", "a=1; b=2");
            using var response = await edge.Viewer.SendAsync(request);
            Assert.Equal(i == 0 ? "Miss" : "Hit", response.XCache());
        }

        var seen = Assert.Single(origin.Requests).Headers;
        Assert.Equal("viewer.example", seen["Host"]);
        Assert.Equal("a=1; b=2", seen["Cookie"]);
    }
}
