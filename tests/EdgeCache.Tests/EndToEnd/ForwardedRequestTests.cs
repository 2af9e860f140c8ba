using System.Net;
using System.Text;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// What a viewer's forwarded request can do to the node: whatever it sends, every origin connection it used goes back to
/// the pool, a fault in its own request is answered 4xx (not blamed on the origin), and only the headers the behavior
/// names reach the origin.
/// </summary>
public sealed class ForwardedRequestTests
{
    /// <summary>Host values Kestrel accepts and <see cref="Uri"/> rejects.</summary>
    public static TheoryData<string> UnparseableHosts => ["a:99999", "a:65536", "a..b", "xn--", "[::1]:99999"];

    [Fact]
    public async Task Posts_with_a_host_uri_rejects_do_not_use_up_the_origin_connections()
    {
        await using var origin = await StartLocationOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Origins[0].MaxConnections = 4;
            o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"];
        });

        var viewers = new List<RawViewer>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var viewer = await RawViewer.ConnectAsync(edge.ViewerPort);
                viewers.Add(viewer);
                var response = await viewer.SendAsync("POST /m/loc HTTP/1.1\r\nHost: a:99999\r\nContent-Length: 3\r\n\r\nabc");
                Assert.Equal(201, response.Status);
            }

            // Each would wait for a pooled connection forever (the node's clock is fake) if one had leaked.
            for (var i = 0; i < 4; i++)
            {
                using var miss = await edge.Viewer.GetAsync($"/m/miss-{i}").WaitAsync(TimeSpan.FromSeconds(10));
                Assert.Equal(HttpStatusCode.OK, miss.StatusCode);
                using var post = await edge.Viewer.PostAsync("/m/loc", new StringContent("abc")).WaitAsync(TimeSpan.FromSeconds(10));
                Assert.Equal(HttpStatusCode.Created, post.StatusCode);
            }
        }
        finally
        {
            viewers.ForEach(v => v.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(UnparseableHosts))]
    public async Task A_post_with_an_unparseable_host_still_invalidates_its_target_and_a_relative_location(string host)
    {
        await using var origin = await StartLocationOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"]);
        (await edge.Viewer.GetAsync("/m/loc")).Dispose();
        (await edge.Viewer.GetAsync("/m/other")).Dispose();
        using (var cached = await edge.Viewer.GetAsync("/m/other"))
        {
            Assert.Equal("Hit", cached.XCache());
        }

        using (var viewer = await RawViewer.ConnectAsync(edge.ViewerPort))
        {
            var response = await viewer.SendAsync($"POST /m/loc HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\n\r\nabc");
            Assert.Equal(201, response.Status);
        }

        using var target = await edge.Viewer.GetAsync("/m/loc");
        using var location = await edge.Viewer.GetAsync("/m/other");
        Assert.Equal("Miss", target.XCache());
        Assert.Equal("Miss", location.XCache());
    }

    [Fact]
    public async Task An_absolute_location_on_another_authority_invalidates_nothing_even_with_an_unparseable_host()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            if (HttpMethods.IsPost(ctx.Request.Method))
            {
                ctx.Response.StatusCode = 201;
                ctx.Response.Headers.Location = "http://other.example/m/other";
                return Task.CompletedTask;
            }

            ctx.Response.Headers.CacheControl = "max-age=600";
            return ctx.Response.WriteAsync("get");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"]);
        (await edge.Viewer.GetAsync("/m/other")).Dispose();

        using (var viewer = await RawViewer.ConnectAsync(edge.ViewerPort))
        {
            Assert.Equal(201, (await viewer.SendAsync("POST /m/loc HTTP/1.1\r\nHost: a:99999\r\nContent-Length: 3\r\n\r\nabc")).Status);
        }

        using var location = await edge.Viewer.GetAsync("/m/other");
        Assert.Equal("Hit", location.XCache());
    }

    private static Task<TestOrigin> StartLocationOrigin() => TestOrigin.StartAsync(async ctx =>
    {
        if (HttpMethods.IsPost(ctx.Request.Method))
        {
            using var sink = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(sink);
            ctx.Response.StatusCode = 201;
            ctx.Response.Headers.Location = "/m/other";
            return;
        }

        ctx.Response.Headers.CacheControl = "max-age=600";
        await ctx.Response.Body.WriteAsync(Encoding.ASCII.GetBytes("get " + ctx.Request.Path));
    });
}
