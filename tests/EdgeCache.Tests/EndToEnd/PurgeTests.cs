using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EdgeCache.Caching;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

public sealed class PurgeTests
{
    private const string Token = "test-admin-token-0123456789";

    [Fact]
    public async Task Purge_by_url_prefix_wildcard_and_all_removes_exactly_what_it_names()
    {
        await using var origin = await Cacheable();
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.AdminToken = Token;
            o.Behaviors[0].CacheKey.QueryStrings = "all";
        });
        string[] paths = ["/a.css", "/a.css?v=2", "/img/1.png", "/img/2.jpg", "/img/deep/3.png", "/docs/x.html", "/docs/y.html"];
        foreach (var path in paths)
        {
            (await edge.Viewer.GetAsync(path)).Dispose();
        }

        Assert.Equal(2, await Purge(edge, new { paths = new[] { "/a.css" } }));
        Assert.Equal(2, await Purge(edge, new { pattern = "/img/*.png" }));
        Assert.Equal(2, await Purge(edge, new { prefix = "/docs/" }));
        Assert.Equal("Hit", await XCache(edge, "/img/2.jpg"));
        Assert.Equal("Miss", await XCache(edge, "/a.css?v=2"));
        Assert.Equal("Miss", await XCache(edge, "/img/deep/3.png"));
        Assert.Equal("Miss", await XCache(edge, "/docs/x.html"));

        Assert.Equal(4, await Purge(edge, new { all = true }));
        Assert.Equal(0, edge.Get<MemoryCacheStore>().Count);
        Assert.Equal("Miss", await XCache(edge, "/img/2.jpg"));
    }

    [Fact]
    public async Task A_purge_by_path_removes_a_path_that_contains_a_key_separator()
    {
        // The key joins behavior, path, query and key headers with '|' and '?': a path holding one must still be the
        // path its purge names, not the part of it before the separator.
        await using var origin = await Cacheable();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.AdminToken = Token);
        (await edge.Viewer.GetAsync("/a%7Cb.css")).Dispose();
        (await edge.Viewer.GetAsync("/a")).Dispose();
        Assert.Equal("Hit", await XCache(edge, "/a%7Cb.css"));

        Assert.Equal(1, await Purge(edge, new { paths = new[] { "/a|b.css" } }));
        Assert.Equal("Miss", await XCache(edge, "/a%7Cb.css"));
        Assert.Equal("Hit", await XCache(edge, "/a"));
    }

    [Fact]
    public async Task Purge_needs_the_bearer_token()
    {
        await using var origin = await Cacheable();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.AdminToken = Token);
        (await edge.Viewer.GetAsync("/keep")).Dispose();

        using (var none = await edge.Admin.PostAsync("/purge", JsonBody(new { all = true })))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.StartsWith("Bearer", none.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/purge") { Content = JsonBody(new { all = true }) };
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token + "x");
        using (var rejected = await edge.Admin.SendAsync(wrong))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);
        }

        Assert.Equal(1, edge.Get<MemoryCacheStore>().Count);
        // And never on the viewer port.
        using var viewer = await edge.Viewer.PostAsync("/purge", JsonBody(new { all = true }));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, viewer.StatusCode);
    }

    [Fact]
    public async Task Without_a_token_the_purge_api_is_disabled()
    {
        await using var origin = await Cacheable();
        await using var edge = await EdgeNode.StartAsync(origin);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/purge") { Content = JsonBody(new { all = true }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "anything-at-all-here");
        using var response = await edge.Admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Theory]
    [InlineData("{\"prefix\":\"docs\"}", "prefix")]
    [InlineData("{\"paths\":[\"/ok\",\"/../etc\"]}", "paths[1]")]
    [InlineData("{\"all\":true,\"prefix\":\"/x\"}", "exactly one")]
    [InlineData("{\"everything\":true}", "body")]
    [InlineData("not json", "body")]
    public async Task A_bad_purge_request_gets_400_naming_the_field(string body, string field)
    {
        await using var origin = await Cacheable();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.AdminToken = Token);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/purge") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await edge.Admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fetch_that_started_before_a_purge_is_not_stored()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            await release.Task;
            ctx.Response.Headers.CacheControl = "max-age=600";
            await ctx.Response.WriteAsync("old");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.AdminToken = Token);

        var inFlight = edge.Viewer.GetStringAsync("/racing");
        await CachingTests.Eventually(() => origin.Count("/racing") == 1);
        await Purge(edge, new { paths = new[] { "/racing" } });
        release.SetResult();
        Assert.Equal("old", await inFlight);

        Assert.Equal(0, edge.Get<MemoryCacheStore>().Count);
        Assert.Equal("Miss", await XCache(edge, "/racing"));
    }

    private static Task<TestOrigin> Cacheable() => TestOrigin.StartAsync(ctx =>
    {
        ctx.Response.Headers.CacheControl = "max-age=600";
        return ctx.Response.WriteAsync("body of " + ctx.Request.Path);
    });

    private static async Task<string> XCache(EdgeNode edge, string path)
    {
        using var response = await edge.Viewer.GetAsync(path);
        return response.XCache();
    }

    private static async Task<int> Purge(EdgeNode edge, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/purge") { Content = JsonBody(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await edge.Admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(32, json.RootElement.GetProperty("id").GetString()!.Length);
        return json.RootElement.GetProperty("removed").GetInt32();
    }

    private static StringContent JsonBody(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
}
