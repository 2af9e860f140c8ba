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
    public async Task A_steady_upload_longer_than_the_read_timeout_is_relayed_whole()
    {
        var received = 0;
        var aborted = false;
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            var buffer = new byte[64 * 1024];
            int read;
            try
            {
                while ((read = await ctx.Request.Body.ReadAsync(buffer)) > 0)
                {
                    Interlocked.Add(ref received, read);
                }
            }
            catch (IOException)
            {
                // The node gave up on the request.
                Volatile.Write(ref aborted, true);
                throw;
            }

            await answer.Task;
            await ctx.Response.WriteAsync($"got {received}");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Origins[0].ReadTimeoutMs = 500;
            o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"];
        });

        // Five chunks 300 ms apart on the node's clock: 1.5 s in all, each gap well inside the 500 ms timeout.
        using var content = new DripContent(5, async sent =>
        {
            await CachingTests.Eventually(() => Volatile.Read(ref received) == sent || Volatile.Read(ref aborted));
            if (sent < 5 * Chunk)
            {
                edge.Time.Advance(TimeSpan.FromMilliseconds(300));
            }
        });
        var post = edge.Viewer.PostAsync("/upload", content);
        await CachingTests.Eventually(() => content.Done || post.IsCompleted);

        // The wait for the origin's answer starts once the body has been sent, not when the request did.
        edge.Time.Advance(TimeSpan.FromMilliseconds(300));
        answer.SetResult();
        using var response = await post;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"got {5 * Chunk}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_origin_that_stops_reading_an_upload_gets_504_within_the_read_timeout()
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async _ => await stop.Task);
        try
        {
            await using var edge = await EdgeNode.StartAsync(origin, o =>
            {
                o.Origins[0].ReadTimeoutMs = 500;
                o.Limits.MaxRequestBodyBytes = 1L << 30;
                o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"];
            });
            using var viewer = await RawViewer.ConnectAsync(edge.ViewerPort);
            await viewer.SendRawAsync($"POST /stuck HTTP/1.1\r\nHost: x\r\nContent-Length: {1L << 30}\r\n\r\n");
            // The viewer keeps sending until the node stops taking its bytes: the origin is not reading them.
            using var sending = new CancellationTokenSource();
            var sender = viewer.SendForeverAsync(sending.Token);
            var response = viewer.ReadHeadAsync();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (!response.IsCompleted && DateTime.UtcNow < deadline)
            {
                edge.Time.Advance(TimeSpan.FromMilliseconds(200));
                await Task.Delay(50);
            }

            Assert.True(response.IsCompleted, "no answer while the origin was not reading");
            Assert.Equal(504, (await response).Status);
            await sending.CancelAsync();
            await sender;
        }
        finally
        {
            stop.TrySetResult();
        }
    }

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

    [Fact]
    public async Task A_viewer_slower_than_the_minimum_data_rate_is_cut_off_and_frees_its_origin_connection()
    {
        var cutOff = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            try
            {
                using var sink = new MemoryStream();
                await ctx.Request.Body.CopyToAsync(sink);
                await ctx.Response.WriteAsync($"posted {sink.Length}");
            }
            catch (IOException)
            {
                cutOff.TrySetResult();
            }
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Limits.MinRequestBodyBytesPerSecond = 1000;
            o.Limits.RequestBodyGracePeriodSeconds = 2;
            o.Origins[0].MaxPassThroughConnections = 1;
            o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"];
        });

        using var slow = await RawViewer.ConnectAsync(edge.ViewerPort);
        await slow.SendRawAsync("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + new string('s', 100));
        var started = DateTime.UtcNow;

        // Kestrel checks the rate once a second after the grace period: 100 bytes in 2 s is below 1000 B/s.
        await cutOff.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var (status, _) = await slow.ReadHeadAsync();
        Assert.Equal(408, status);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(6));

        // The one pass-through connection is free again.
        using var next = await edge.Viewer.PostAsync("/next", new StringContent("abc")).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("posted 3", await next.Content.ReadAsStringAsync());
    }

    /// <summary>A request body sent in 8 KiB chunks, each followed by <c>afterChunk(bytes sent so far)</c>.</summary>
    private sealed class DripContent(int chunks, Func<int, Task> afterChunk) : HttpContent
    {
        private volatile bool _done;

        public bool Done => _done;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = Encoding.ASCII.GetBytes(new string('d', Chunk));
            for (var i = 1; i <= chunks; i++)
            {
                await stream.WriteAsync(chunk);
                await stream.FlushAsync();
                await afterChunk(i * Chunk);
            }

            _done = true;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = (long)chunks * Chunk;
            return true;
        }
    }
}
