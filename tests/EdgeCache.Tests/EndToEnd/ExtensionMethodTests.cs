using System.Net;
using System.Text;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// RFC 9111 4.4 and RFC 9110 9.2.1: a method the node does not know is unsafe. Allowed by a behavior, it is forwarded
/// with its body, its response is never stored, and a success invalidates the target URI (and the same-authority
/// Location and Content-Location) as the known unsafe methods do.
/// </summary>
public sealed class ExtensionMethodTests
{
    [Theory]
    [InlineData("PURGEX")]
    [InlineData("LINK")]
    [InlineData("FOO")]
    public async Task Rfc9111_4_4_a_successful_extension_method_invalidates_its_target_and_its_location(string method)
    {
        await using var origin = await StartOrigin(method);
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", method]);
        await Warm(edge, "/m/target");
        await Warm(edge, "/m/other");

        using (var request = new HttpRequestMessage(new HttpMethod(method), "/m/target") { Content = new StringContent("payload") })
        using (var response = await edge.Viewer.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(method + " payload", await response.Content.ReadAsStringAsync());
            Assert.StartsWith("edge-test; fwd=method", response.Header("Cache-Status"), StringComparison.Ordinal);
        }

        using var target = await edge.Viewer.GetAsync("/m/target");
        using var location = await edge.Viewer.GetAsync("/m/other");
        Assert.Equal("Miss", target.XCache());
        Assert.Equal("Miss", location.XCache());
        Assert.Equal("get /m/target", await target.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Rfc9111_4_4_an_extension_method_that_fails_invalidates_nothing_and_its_response_is_never_stored()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            if (ctx.Request.Method == "FOO")
            {
                ctx.Response.StatusCode = 409;
                return ctx.Response.WriteAsync("conflict");
            }

            return ctx.Response.WriteAsync("get");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "FOO"]);
        await Warm(edge, "/m/target");

        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(new HttpMethod("FOO"), "/m/target");
            using var response = await edge.Viewer.SendAsync(request);
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal("Miss", response.XCache());
        }

        Assert.Equal(2, origin.Requests.Count(r => r.Method == "FOO"));
        using var hit = await edge.Viewer.GetAsync("/m/target");
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal("get", await hit.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Rfc9110_9_3_8_trace_is_safe_and_invalidates_nothing()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            return ctx.Response.WriteAsync(ctx.Request.Method.ToLowerInvariant());
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "TRACE"]);
        await Warm(edge, "/m/target");

        using (var request = new HttpRequestMessage(HttpMethod.Trace, "/m/target"))
        using (var response = await edge.Viewer.SendAsync(request))
        {
            Assert.Equal("trace", await response.Content.ReadAsStringAsync());
        }

        using var hit = await edge.Viewer.GetAsync("/m/target");
        Assert.Equal("Hit", hit.XCache());
    }

    [Fact]
    public async Task An_extension_method_the_behavior_does_not_allow_is_a_405_and_never_reaches_the_origin()
    {
        await using var origin = await StartOrigin("FOO");
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "FOO"]);
        await Warm(edge, "/m/target");

        using (var request = new HttpRequestMessage(new HttpMethod("BAR"), "/m/target"))
        using (var response = await edge.Viewer.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
            Assert.Equal(["GET", "HEAD", "FOO"], response.Content.Headers.Allow);
        }

        Assert.DoesNotContain(origin.Requests, r => r.Method == "BAR");
        using var hit = await edge.Viewer.GetAsync("/m/target");
        Assert.Equal("Hit", hit.XCache());
    }

    [Theory]
    [InlineData("Purge")]
    [InlineData("purge")]
    [InlineData("Link")]
    public async Task Rfc9110_9_1_an_extension_method_reaches_the_origin_spelled_as_the_viewer_sent_it(string method)
    {
        await using var origin = await StartOrigin(method);
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", method]);
        await Warm(edge, "/m/target");

        for (var i = 0; i < 2; i++)
        {
            // A raw socket, so the test sends exactly this spelling.
            var response = await Send(edge, method);
            Assert.Equal(200, response.Status);
            Assert.Equal(method + " body", response.BodyText);
            Assert.StartsWith("edge-test; fwd=method", response.Header("Cache-Status"), StringComparison.Ordinal);
        }

        // Both reached the origin (Kestrel hands an unknown token through as it came): neither was served from the cache.
        Assert.Equal(2, origin.Requests.Count(r => string.Equals(r.Method, method, StringComparison.Ordinal)));
        Assert.Single(origin.Requests, r => r.Method == "GET");

        // Not a safe method (RFC 9110 9.2.1), so its success invalidated the stored GET (RFC 9111 4.4).
        using var target = await edge.Viewer.GetAsync("/m/target");
        Assert.Equal("Miss", target.XCache());
        Assert.Equal(2, origin.Requests.Count(r => r.Method == "GET"));
    }

    [Theory]
    [InlineData("get")]
    [InlineData("head")]
    [InlineData("delete")]
    [InlineData("pOST")]
    [InlineData("options")]
    [InlineData("trace")]
    public async Task Rfc9110_9_1_a_method_differing_from_a_standard_one_only_in_case_is_not_that_method_and_is_refused_rather_than_sent_as_it(string method)
    {
        await using var origin = await StartOrigin(method);
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", method]);
        await Warm(edge, "/m/target");

        // Not served from the cache as GET or HEAD, and not sent as the standard method either: .NET's HTTP client writes
        // any case variant of a method it knows in the canonical spelling.
        var response = await Send(edge, method);
        Assert.Equal(501, response.Status);
        Assert.Contains($"The method {method} differs from {method.ToUpperInvariant()} only in case", response.BodyText, StringComparison.Ordinal);
        Assert.Equal("no-store", response.Header("Cache-Control"));

        Assert.Single(origin.Requests);
        using var hit = await edge.Viewer.GetAsync("/m/target");
        Assert.Equal("Hit", hit.XCache());
    }

    [Fact]
    public async Task A_lower_case_get_the_behavior_does_not_allow_is_a_405_not_a_cache_hit()
    {
        await using var origin = await StartOrigin("FOO");
        await using var edge = await EdgeNode.StartAsync(origin);
        await Warm(edge, "/m/target");

        var response = await Send(edge, "get");
        Assert.Equal(405, response.Status);
        Assert.Equal("GET, HEAD", response.Header("Allow"));
        Assert.Single(origin.Requests);
    }

    private static Task<RawViewerResponse> Send(EdgeNode edge, string method) =>
        RawViewer.SendAsync(edge.ViewerPort, $"{method} /m/target HTTP/1.1\r\nHost: edge\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody");

    private static async Task Warm(EdgeNode edge, string path)
    {
        (await edge.Viewer.GetAsync(path)).Dispose();
        using var hit = await edge.Viewer.GetAsync(path);
        Assert.Equal("Hit", hit.XCache());
    }

    private static Task<TestOrigin> StartOrigin(string method) => TestOrigin.StartAsync(async ctx =>
    {
        if (ctx.Request.Method == method)
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            ctx.Response.Headers.Location = "/m/other";
            ctx.Response.Headers.CacheControl = "max-age=600";
            await ctx.Response.WriteAsync(method + " " + body);
            return;
        }

        ctx.Response.Headers.CacheControl = "max-age=600";
        await ctx.Response.WriteAsync("get " + ctx.Request.Path);
    });
}
