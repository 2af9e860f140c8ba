using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// Viewer uploads relayed to the origin: readTimeout is per read and per write (restarted as the body flows), a viewer
/// slower than the minimum data rate is cut off, and uploads cannot hold the connections cache misses need.
/// </summary>
public sealed class ForwardedUploadTests
{
    private const int Chunk = 8 * 1024;

    [Fact]
    public async Task Stalled_uploads_do_not_hold_the_connections_a_cache_miss_needs()
    {
        var posts = 0;
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            if (HttpMethods.IsPost(ctx.Request.Method))
            {
                Interlocked.Increment(ref posts);
                using var sink = new MemoryStream();
                await ctx.Request.Body.CopyToAsync(sink);
                await ctx.Response.WriteAsync("posted");
                return;
            }

            await ctx.Response.WriteAsync("miss " + ctx.Request.Path);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Origins[0].MaxConnections = 2;
            o.Origins[0].MaxPassThroughConnections = 2;
            o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"];
        });

        var uploads = new List<RawViewer>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var upload = await RawViewer.ConnectAsync(edge.ViewerPort);
                uploads.Add(upload);
                // More than the origin client buffers before sending, so the origin sees the request start.
                await upload.SendRawAsync("POST /drip HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + new string('u', Chunk));
            }

            await CachingTests.Eventually(() => Volatile.Read(ref posts) >= 2);

            using var miss = await edge.Viewer.GetAsync("/page").WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal("miss /page", await miss.Content.ReadAsStringAsync());
        }
        finally
        {
            uploads.ForEach(u => u.Dispose());
        }
    }
}
