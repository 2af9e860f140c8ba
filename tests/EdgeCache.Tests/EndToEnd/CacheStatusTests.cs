using System.Net;
using System.Net.Http.Headers;
using EdgeCache.Observability;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// RFC 9211: every response the viewer port sends carries a Cache-Status that parses as an RFC 8941 List whose member
/// is this node, with <c>hit</c> or <c>fwd</c> (and <c>fwd-status</c>, <c>stored</c>, <c>collapsed</c>, <c>ttl</c>) as
/// the path it took, and <c>detail</c> saying why a response went unstored or the node answered by itself.
/// </summary>
public sealed class CacheStatusTests
{
    [Fact]
    public async Task Rfc9211_2_every_path_sends_a_cache_status_list_with_the_parameters_of_that_path()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var staleIfErrorFails = false;
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            var response = ctx.Response;
            switch (ctx.Request.Path.Value)
            {
                case "/fresh" or "/unasked" or "/headfirst":
                    response.Headers.CacheControl = "max-age=600";
                    response.Headers.ETag = "\"v1\"";
                    await response.WriteAsync("fresh body");
                    return;
                case "/nostore":
                    response.Headers.CacheControl = "no-store";
                    await response.WriteAsync("x");
                    return;
                case "/private":
                    response.Headers.CacheControl = "private, max-age=600";
                    await response.WriteAsync("x");
                    return;
                case "/cookie":
                    response.Headers.CacheControl = "max-age=600";
                    response.Headers.SetCookie = "a=b";
                    await response.WriteAsync("x");
                    return;
                case "/status":
                    response.StatusCode = 500;
                    await response.WriteAsync("broken");
                    return;
                case "/post":
                    response.StatusCode = 201;
                    return;
                case "/fail":
                    ctx.Abort();
                    return;
                case "/reval":
                    response.Headers.CacheControl = "max-age=1";
                    response.Headers.ETag = "\"r\"";
                    if (ctx.Request.Headers.IfNoneMatch == "\"r\"")
                    {
                        response.StatusCode = 304;
                        return;
                    }

                    await response.WriteAsync("reval");
                    return;
                case "/swr":
                    response.Headers.CacheControl = "max-age=1, stale-while-revalidate=600";
                    await response.WriteAsync("swr");
                    return;
                case "/sie":
                    if (staleIfErrorFails)
                    {
                        response.StatusCode = 503;
                        return;
                    }

                    response.Headers.CacheControl = "max-age=1, stale-if-error=600";
                    await response.WriteAsync("sie");
                    return;
                case "/slow":
                    await release.Task;
                    response.Headers.CacheControl = "max-age=600";
                    await response.WriteAsync("slow");
                    return;
                default:
                    response.StatusCode = 404;
                    return;
            }
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"]);
        var seen = new List<string>();

        async Task<Dictionary<string, string?>> Check(string path, HttpStatusCode expected, Action<HttpRequestMessage>? configure = null, HttpMethod? method = null)
        {
            using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
            configure?.Invoke(request);
            using var response = await edge.Viewer.SendAsync(request);
            Assert.Equal(expected, response.StatusCode);
            return Parameters(path, response);
        }

        Dictionary<string, string?> Parameters(string path, HttpResponseMessage response)
        {
            var values = response.Headers.TryGetValues("Cache-Status", out var v) ? v.ToList() : [];
            var value = Assert.Single(values);
            seen.Add(path + " -> " + value);
            var list = StructuredFieldList.Parse(value);
            var (item, parameters) = Assert.Single(list);
            Assert.Equal("edge-test", item);
            Assert.False(parameters.ContainsKey("hit") && parameters.ContainsKey("fwd"), value);
            return parameters;
        }

        // A miss that is stored, then hits on GET, a conditional GET (304), HEAD and a range (206).
        var miss = await Check("/fresh", HttpStatusCode.OK);
        Assert.Equal("uri-miss", miss["fwd"]);
        Assert.Equal("200", miss["fwd-status"]);
        Assert.True(miss.ContainsKey("stored"));
        Assert.False(miss.ContainsKey("detail"));

        var hit = await Check("/fresh", HttpStatusCode.OK);
        Assert.True(hit.ContainsKey("hit"));
        Assert.InRange(int.Parse(hit["ttl"]!, System.Globalization.CultureInfo.InvariantCulture), 590, 600);

        Assert.True((await Check("/fresh", HttpStatusCode.NotModified, r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v1\"")))).ContainsKey("hit"));
        Assert.True((await Check("/fresh", HttpStatusCode.OK, method: HttpMethod.Head)).ContainsKey("hit"));
        Assert.True((await Check("/fresh", HttpStatusCode.PartialContent, r => r.Headers.Range = new RangeHeaderValue(0, 1))).ContainsKey("hit"));
        Assert.True((await Check("/fresh", HttpStatusCode.RequestedRangeNotSatisfiable, r => r.Headers.Range = new RangeHeaderValue(100, 200))).ContainsKey("hit"));
        var headMiss = await Check("/headfirst", HttpStatusCode.OK, method: HttpMethod.Head);
        Assert.Equal("uri-miss", headMiss["fwd"]);
        Assert.Equal("200", headMiss["fwd-status"]);

        // Misses that are not stored say why.
        foreach (var (path, status, detail) in new[] { ("/nostore", 200, "no-store"), ("/private", 200, "private"), ("/cookie", 200, "set-cookie"), ("/status", 500, "status") })
        {
            var p = await Check(path, (HttpStatusCode)status);
            Assert.Equal("uri-miss", p["fwd"]);
            Assert.Equal(status.ToString(System.Globalization.CultureInfo.InvariantCulture), p["fwd-status"]);
            Assert.False(p.ContainsKey("stored"), path);
            Assert.Equal(detail, p["detail"]);
        }

        // The viewer's own no-store sends it past the cache.
        var noStore = await Check("/unasked", HttpStatusCode.OK, r => r.Headers.CacheControl = new CacheControlHeaderValue { NoStore = true });
        Assert.Equal("request", noStore["fwd"]);
        Assert.Equal("200", noStore["fwd-status"]);
        Assert.Equal("request-no-store", noStore["detail"]);

        // An unsafe method.
        var post = await Check("/post", HttpStatusCode.Created, r => r.Content = new StringContent("x"), HttpMethod.Post);
        Assert.Equal("method", post["fwd"]);
        Assert.Equal("201", post["fwd-status"]);

        // The node's own answers: a bad path, a method the behavior does not allow, only-if-cached with nothing stored.
        Assert.Equal("bad-request", (await Check("/a%5Cb", HttpStatusCode.BadRequest))["detail"]);
        Assert.Equal("method-not-allowed", (await Check("/fresh", HttpStatusCode.MethodNotAllowed, method: HttpMethod.Put))["detail"]);
        var onlyIfCached = await Check("/nothing", HttpStatusCode.GatewayTimeout, r => r.Headers.CacheControl = new CacheControlHeaderValue { OnlyIfCached = true });
        Assert.Equal("only-if-cached", onlyIfCached["detail"]);
        Assert.False(onlyIfCached.ContainsKey("fwd"));
        var health = await Check("/.edge/healthz", HttpStatusCode.OK);
        Assert.False(health.ContainsKey("fwd") || health.ContainsKey("hit"));

        // An origin that fails.
        var failed = await Check("/fail", HttpStatusCode.BadGateway);
        Assert.Equal("uri-miss", failed["fwd"]);
        Assert.NotNull(failed["detail"]);

        // Stale entries: revalidated (304), served while revalidating, served for an error.
        await Check("/reval", HttpStatusCode.OK);
        await Check("/swr", HttpStatusCode.OK);
        await Check("/sie", HttpStatusCode.OK);
        edge.Time.Advance(TimeSpan.FromSeconds(5));
        staleIfErrorFails = true;

        var revalidated = await Check("/reval", HttpStatusCode.OK);
        Assert.Equal("stale", revalidated["fwd"]);
        Assert.Equal("304", revalidated["fwd-status"]);
        Assert.True(revalidated.ContainsKey("stored"));
        Assert.NotNull(revalidated["ttl"]);

        var swr = await Check("/swr", HttpStatusCode.OK);
        Assert.True(swr.ContainsKey("hit"));
        Assert.True(int.Parse(swr["ttl"]!, System.Globalization.CultureInfo.InvariantCulture) < 0);
        Assert.Equal("stale-while-revalidate", swr["detail"]);

        var sie = await Check("/sie", HttpStatusCode.OK);
        Assert.Equal("stale", sie["fwd"]);
        Assert.Equal("503", sie["fwd-status"]);
        Assert.Equal("stale-if-error", sie["detail"]);

        // Collapsed: a second viewer that waited on the first one's fetch.
        var first = edge.Viewer.GetAsync("/slow");
        await CachingTests.Eventually(() => origin.Count("/slow") == 1);
        var second = edge.Viewer.GetAsync("/slow");
        await CachingTests.Eventually(() => edge.Get<EdgeCacheMetrics>().CollapsedWaiters.Value >= 1);
        release.SetResult();
        using var leader = await first;
        using var waiter = await second;
        Assert.False(Parameters("/slow", leader).ContainsKey("collapsed"));
        var collapsed = Parameters("/slow", waiter);
        Assert.True(collapsed.ContainsKey("collapsed"));
        Assert.Equal("uri-miss", collapsed["fwd"]);
    }

    [Fact]
    public async Task Rfc9211_2_8_a_detail_that_is_not_a_token_is_sent_as_a_string()
    {
        // The origin's Content-Encoding names the coding the viewer cannot be sent (406); any text can be there.
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "x", "Cache-Control: max-age=600", "Content-Encoding: x\"y"));
        await using var edge = await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new EdgeCache.Configuration.OriginOptions { Id = "origin", Type = "http", Url = origin.Url, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
            o.Behaviors.Add(new EdgeCache.Configuration.BehaviorOptions { PathPattern = "*", Origin = "origin" });
        });

        using var request = new HttpRequestMessage(HttpMethod.Get, "/coded");
        request.Headers.AcceptEncoding.ParseAdd("identity");
        using var response = await edge.Viewer.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotAcceptable, response.StatusCode);
        var (_, parameters) = Assert.Single(StructuredFieldList.Parse(response.Headers.GetValues("Cache-Status").Single()));
        Assert.Equal("coding:x\"y", parameters["detail"]);
    }
}
