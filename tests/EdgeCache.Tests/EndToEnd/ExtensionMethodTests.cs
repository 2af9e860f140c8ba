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
