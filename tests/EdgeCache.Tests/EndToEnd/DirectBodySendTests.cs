using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using EdgeCache.Caching;
using EdgeCache.FastPath;
using EdgeCache.Observability;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// listen.directBodySend: the viewer connection's bytes go out through <see cref="ViewerSocketWriter"/>, and a stored
/// body goes to the socket from the cache's memory instead of through Kestrel's pipe blocks. Raw sockets, so that what
/// is checked is the bytes on the wire, in order.
/// </summary>
public sealed class DirectBodySendTests
{
    private const int Large = 1024 * 1024;
    private const int Small = 1024;
    private const int Huge = 6 * 1024 * 1024; // more than loopback's socket buffers hold: the send goes asynchronous

    private static readonly Dictionary<string, byte[]> Bodies = new()
    {
        ["/large.bin"] = RandomNumberGenerator.GetBytes(Large),
        ["/small.bin"] = RandomNumberGenerator.GetBytes(Small),
        ["/huge.bin"] = RandomNumberGenerator.GetBytes(Huge),
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_large_hit_goes_out_from_the_stored_bytes_instead_of_being_copied_through_pipe_blocks(bool directBodySend)
    {
        await using var origin = await StartOriginAsync();
        var pools = new CountingMemoryPoolFactory();
        await using var edge = await EdgeNode.StartAsync(
            origin,
            options => options.Listen.DirectBodySend = directBodySend,
            configureServices: services => services.AddSingleton<IMemoryPoolFactory<byte>>(pools));
        using var viewer = await ConnectAsync(edge);
        await ExchangeAsync(viewer, "GET /large.bin"); // the miss

        const int Hits = 10;
        var before = pools.Rents;
        for (var i = 0; i < Hits; i++)
        {
            var (status, headers, body) = await ExchangeAsync(viewer, "GET /large.bin");
            Assert.Equal(200, status);
            Assert.Contains("X-Cache: Hit", headers, StringComparison.Ordinal);
            Assert.Equal(Bodies["/large.bin"], body);
        }

        // 64 KiB blocks: a 1 MiB body copied into the pipe takes 16 of them; sent directly, a hit takes one for its
        // headers and the socket transport one for the request it reads.
        var rentsPerHit = (double)(pools.Rents - before) / Hits;
        if (directBodySend)
        {
            Assert.True(rentsPerHit <= 3, $"{rentsPerHit} pool blocks per 1 MiB hit: the body went through pipe blocks");
        }
        else
        {
            Assert.True(rentsPerHit >= 16, $"{rentsPerHit} pool blocks per 1 MiB hit with Kestrel's own output");
        }

        Assert.Equal(1, origin.Count("/large.bin"));
    }

    [Theory]
    [InlineData(true)] // sends that cannot finish at once go by SendPacketsAsync
    [InlineData(false)]
    public async Task Large_bodies_are_held_in_in_memory_files_for_sendfile_and_hits_come_out_the_same(bool sendFile)
    {
        await using var origin = await StartOriginAsync();
        await using var edge = await EdgeNode.StartAsync(origin, options => options.Listen.SendFile = sendFile);
        var mapped = edge.Get<MappedBodyAllocator>();
        using var viewer = await ConnectAsync(edge);
        foreach (var path in new[] { "/large.bin", "/small.bin", "/huge.bin" })
        {
            // A body of 85,000 bytes or more is written into an in-memory file as it arrives; its hits go out with sendfile.
            for (var i = 0; i < 4; i++)
            {
                var (status, headers, body) = await ExchangeAsync(viewer, "GET " + path);
                Assert.Equal(200, status);
                Assert.Contains(i == 0 ? "X-Cache: Miss" : "X-Cache: Hit", headers, StringComparison.Ordinal);
                Assert.Equal(Bodies[path], body);
            }
        }

        // The 1 MiB and 6 MiB bodies, not the 1 KiB one (which goes out with its headers in one sendmsg).
        Assert.Equal(sendFile, HeldInFile(edge, "/large.bin"));
        Assert.Equal(sendFile, HeldInFile(edge, "/huge.bin"));
        Assert.False(HeldInFile(edge, "/small.bin"));
        Assert.Equal(sendFile ? 2 : 0, mapped.Live);
        foreach (var path in new[] { "/large.bin", "/huge.bin" })
        {
            Assert.Equal(Bodies[path], (await ExchangeAsync(viewer, "GET " + path)).Body);
        }

        Assert.Equal(sendFile ? MappedBodyMemory.FootprintOf(Large) + MappedBodyMemory.FootprintOf(Huge) : 0, mapped.FootprintBytes);
        var metrics = await edge.Admin.GetStringAsync("/metrics");
        Assert.Contains($"\nedgecache_sendfile_bodies {mapped.Live}\n", metrics, StringComparison.Ordinal);
        Assert.Contains($"\nedgecache_sendfile_body_bytes {mapped.FootprintBytes}\n", metrics, StringComparison.Ordinal);
        // Every hit on the two: three each in the loop and one each after it. A miss whose body had arrived whole before
        // its response started may have gone that way too.
        var sent = double.Parse(metrics.Split('\n').Single(l => l.StartsWith("edgecache_sendfile_responses_total ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(sent, sendFile ? 8 : 0, sendFile ? 10 : 0);
    }

    [Fact]
    public async Task Pipelined_requests_get_their_responses_in_order_and_intact()
    {
        await using var origin = await StartOriginAsync();
        await using var edge = await EdgeNode.StartAsync(origin);
        using var viewer = await ConnectAsync(edge);
        await ExchangeAsync(viewer, "GET /large.bin");
        await ExchangeAsync(viewer, "GET /small.bin");

        // Four requests in one write: Kestrel answers them one after another on the same writer, and each stored
        // body must follow its own headers, never another response's.
        string[] requests = ["GET /large.bin", "GET /small.bin", "HEAD /large.bin", "GET /large.bin"];
        await viewer.SendAsync(Encoding.ASCII.GetBytes(string.Concat(requests.Select(RequestText))));
        var reader = new RawHttpResponseReader(viewer);
        foreach (var request in requests)
        {
            var head = request.StartsWith("HEAD", StringComparison.Ordinal);
            var path = request[(request.IndexOf(' ') + 1)..];
            var response = await reader.ReadAsync(head);
            Assert.Equal(200, response.Status);
            Assert.Contains($"Content-Length: {Bodies[path].Length}", response.Headers, StringComparison.Ordinal);
            Assert.Equal(head ? [] : Bodies[path], response.Body.ToArray());
        }
    }

    [Fact]
    public async Task A_viewer_that_reads_slowly_gets_every_byte_of_every_response()
    {
        await using var origin = await StartOriginAsync();
        await using var edge = await EdgeNode.StartAsync(origin, options => options.Cache.MaxObjectBytes = 8L * 1024 * 1024);
        using var viewer = await ConnectAsync(edge);
        viewer.ReceiveBufferSize = 16 * 1024;
        await ExchangeAsync(viewer, "GET /huge.bin");

        await viewer.SendAsync(Encoding.ASCII.GetBytes(RequestText("GET /huge.bin") + RequestText("GET /small.bin") + RequestText("GET /huge.bin")));
        // Not reading fills the socket buffers, so the node's send of the first body is left pending.
        await UntilSocketBuffersAreFullAsync(viewer);
        var reader = new RawHttpResponseReader(viewer, receiveChunk: 4096);
        Assert.Equal(Bodies["/huge.bin"], (await reader.ReadAsync()).Body.ToArray());
        Assert.Equal(Bodies["/small.bin"], (await reader.ReadAsync()).Body.ToArray());
        Assert.Equal(Bodies["/huge.bin"], (await reader.ReadAsync()).Body.ToArray());
    }

    [Fact]
    public async Task A_viewer_that_resets_mid_body_does_not_disturb_the_next_ones()
    {
        await using var origin = await StartOriginAsync();
        await using var edge = await EdgeNode.StartAsync(origin, options => options.Cache.MaxObjectBytes = 8L * 1024 * 1024);
        using (var first = await ConnectAsync(edge))
        {
            await ExchangeAsync(first, "GET /huge.bin");
            await first.SendAsync(Encoding.ASCII.GetBytes(RequestText("GET /huge.bin")));
            var some = new byte[4096];
            Assert.True(await first.ReceiveAsync(some) > 0);
            first.LingerState = new LingerOption(true, 0);
            first.Close(); // RST with most of the body unsent
        }

        for (var i = 0; i < 3; i++)
        {
            using var next = await ConnectAsync(edge);
            var (status, _, body) = await ExchangeAsync(next, "GET /huge.bin");
            Assert.Equal(200, status);
            Assert.Equal(Bodies["/huge.bin"], body);
        }

        Assert.Equal(1, origin.Count("/huge.bin"));
    }

    [Fact]
    public async Task A_viewer_that_reads_slower_than_kestrels_grace_period_is_not_cut_off()
    {
        // Kestrel times a pending flush against the bytes it wrote itself, and a body sent by reference is not written
        // through it: left on, its 240 B/s rule allowed the headers' 5 s grace for 6 MiB and reset this viewer at ~6 s.
        // Real time here, because Kestrel's heartbeat runs on it; the node's own send timeout (on the fake clock) stays
        // still.
        await using var origin = await StartOriginAsync();
        await using var edge = await EdgeNode.StartAsync(origin, options => options.Cache.MaxObjectBytes = 8L * 1024 * 1024);
        await edge.Viewer.GetByteArrayAsync("/huge.bin");

        // A new connection: Kestrel's allowance accumulates over a connection's writes, and a miss before the hit on the
        // same connection would have covered it for hours.
        using var viewer = await ConnectAsync(edge);
        viewer.ReceiveBufferSize = 16 * 1024;
        await viewer.SendAsync(Encoding.ASCII.GetBytes(RequestText("GET /huge.bin")));
        var started = TimeProvider.System.GetTimestamp();
        // 4 KiB every 80 ms for 8 s (the node's send stays pending: the socket buffers hold less than the body), then the
        // rest at once.
        var response = await new RawHttpResponseReader(viewer, receiveChunk: 4096, afterEachReceive: () =>
            TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(8) ? Task.Delay(80) : Task.CompletedTask).ReadAsync();
        Assert.Equal(Bodies["/huge.bin"], response.Body.ToArray());
    }

    [Fact]
    public async Task A_viewer_that_stops_reading_is_closed_after_the_send_timeout()
    {
        await using var origin = await StartOriginAsync();
        await using var edge = await StartWithTenSecondSendTimeoutAsync(origin);
        var timeouts = edge.Services.GetRequiredService<EdgeCacheMetrics>().ViewerSendTimeouts;
        using var viewer = await ConnectAsync(edge);
        viewer.ReceiveBufferSize = 16 * 1024;
        await ExchangeAsync(viewer, "GET /huge.bin");

        await viewer.SendAsync(Encoding.ASCII.GetBytes(RequestText("GET /huge.bin")));
        await UntilSocketBuffersAreFullAsync(viewer);

        // The watchdog looks once a second: the first look finds the send pending, and ten seconds later it has not moved.
        for (var second = 1; second <= 9; second++)
        {
            edge.Time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(0, timeouts.Value);
        }

        for (var second = 10; second <= 12 && timeouts.Value == 0; second++)
        {
            edge.Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(1, timeouts.Value);
        Assert.Contains("\nedgecache_viewer_send_timeouts_total 1\n", await edge.Admin.GetStringAsync("/metrics"), StringComparison.Ordinal);

        // The connection is gone, with the body unfinished.
        var received = 0L;
        var buffer = new byte[64 * 1024];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await viewer.ReceiveAsync(buffer, SocketFlags.None, limit.Token)) > 0)
            {
                received += read;
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        Assert.True(received < Huge, $"{received} bytes arrived: the whole body was sent");
    }

    [Fact]
    public async Task A_viewer_that_keeps_reading_is_never_closed_by_the_send_timeout_however_long_it_takes()
    {
        await using var origin = await StartOriginAsync();
        await using var edge = await StartWithTenSecondSendTimeoutAsync(origin);
        var timeouts = edge.Services.GetRequiredService<EdgeCacheMetrics>().ViewerSendTimeouts;
        await edge.Viewer.GetByteArrayAsync("/huge.bin");
        using var viewer = await ConnectAsync(edge);
        viewer.ReceiveBufferSize = 64 * 1024;

        await viewer.SendAsync(Encoding.ASCII.GetBytes(RequestText("GET /huge.bin")));
        await UntilSocketBuffersAreFullAsync(viewer);

        // A second of the node's clock for every 64 KiB at most: over a minute and a half in all, far past the timeout,
        // but the one send in flight keeps moving (the viewer acknowledges bytes) and that is what the watchdog looks
        // at. The real pause lets the kernel's acknowledgements land between looks.
        var started = edge.Time.GetTimestamp();
        var response = await new RawHttpResponseReader(viewer, afterEachReceive: async () =>
        {
            await Task.Delay(20);
            edge.Time.Advance(TimeSpan.FromSeconds(1));
        }).ReadAsync();

        Assert.True(edge.Time.GetElapsedTime(started) > TimeSpan.FromSeconds(60));
        Assert.Equal(Bodies["/huge.bin"], response.Body.ToArray());
        Assert.Equal(0, timeouts.Value);
    }

    [Fact]
    public async Task A_viewer_that_stops_reading_does_not_hold_up_the_others()
    {
        await using var origin = await StartOriginAsync();
        await using var edge = await EdgeNode.StartAsync(origin, options => options.Cache.MaxObjectBytes = 8L * 1024 * 1024);
        using var stalled = await ConnectAsync(edge);
        stalled.ReceiveBufferSize = 16 * 1024;
        await ExchangeAsync(stalled, "GET /huge.bin");
        await stalled.SendAsync(Encoding.ASCII.GetBytes(RequestText("GET /huge.bin") + RequestText("GET /huge.bin")));
        await UntilSocketBuffersAreFullAsync(stalled);

        // No I/O thread is waiting on that send: other viewers' hits and misses go on.
        using var other = await ConnectAsync(edge);
        foreach (var path in new[] { "/small.bin", "/large.bin", "/small.bin", "/large.bin" })
        {
            var (status, _, body) = await ExchangeAsync(other, "GET " + path).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(200, status);
            Assert.Equal(Bodies[path], body);
        }

        var reader = new RawHttpResponseReader(stalled);
        Assert.Equal(Bodies["/huge.bin"], (await reader.ReadAsync()).Body.ToArray());
        Assert.Equal(Bodies["/huge.bin"], (await reader.ReadAsync()).Body.ToArray());
    }

    /// <summary>Whether the stored body of <paramref name="path"/> is held in an in-memory file yet.</summary>
    private static bool HeldInFile(EdgeNode edge, string path) =>
        edge.Get<MemoryCacheStore>().Get("0|" + path)?.Find("") is { } entry
        && entry.Body.TryGetSingleSegment(out var segment)
        && MemoryMarshal.TryGetMemoryManager<byte, MappedBodyMemory>(segment, out _);

    /// <summary>Waits until bytes stop arriving at a viewer that reads nothing: the node's send of the rest is then pending.</summary>
    private static async Task UntilSocketBuffersAreFullAsync(Socket viewer)
    {
        var deadline = TimeProvider.System.GetTimestamp() + (10 * TimeProvider.System.TimestampFrequency);
        var last = -1;
        while (TimeProvider.System.GetTimestamp() < deadline)
        {
            await Task.Delay(100);
            var available = viewer.Available;
            if (available > 0 && available == last)
            {
                return;
            }

            last = available;
        }

        Assert.Fail($"bytes kept arriving or none came: {last} buffered");
    }

    private static Task<EdgeNode> StartWithTenSecondSendTimeoutAsync(TestOrigin origin) => EdgeNode.StartAsync(origin, options =>
    {
        options.Cache.MaxObjectBytes = 8L * 1024 * 1024;
        options.Limits.ViewerSendTimeoutSeconds = 10;
    });

    [Theory]
    [InlineData(64 * 1024)]
    [InlineData(16 * 1024)]
    [InlineData(0)]
    public async Task Viewer_sockets_carry_the_configured_not_sent_low_water_mark(int lowWater)
    {
        await using var origin = await StartOriginAsync();
        await using var edge = await EdgeNode.StartAsync(origin, options => options.Listen.NotSentLowWaterBytes = lowWater);
        using var viewer = await ConnectAsync(edge);
        var (status, _, body) = await ExchangeAsync(viewer, "GET /large.bin");
        Assert.Equal(200, status);
        Assert.Equal(Bodies["/large.bin"], body);

        // The node runs in this process: its end of the connection is one of this process's sockets.
        using var served = NodeSideOf(viewer, edge.ViewerPort);
        Span<byte> value = stackalloc byte[sizeof(int)];
        Assert.Equal(sizeof(int), served.GetRawSocketOption((int)SocketOptionLevel.Tcp, 25 /* TCP_NOTSENT_LOWAT */, value));
        // 0 read back: no per-socket value, so the net.ipv4.tcp_notsent_lowat sysctl applies.
        Assert.Equal(lowWater, BitConverter.ToInt32(value));
    }

    private static Task<TestOrigin> StartOriginAsync() => TestOrigin.StartAsync(ctx =>
    {
        var body = Bodies[ctx.Request.Path.Value!];
        ctx.Response.Headers.CacheControl = "public, max-age=3600";
        ctx.Response.ContentType = "application/octet-stream";
        ctx.Response.ContentLength = body.Length;
        return ctx.Response.Body.WriteAsync(body).AsTask();
    });

    private static string RequestText(string methodAndPath) => $"{methodAndPath} HTTP/1.1\r\nHost: cdn.example\r\n\r\n";

    private static async Task<Socket> ConnectAsync(EdgeNode edge)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, edge.ViewerPort));
        return socket;
    }

    private static async Task<(int Status, string Headers, byte[] Body)> ExchangeAsync(Socket socket, string methodAndPath)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes(RequestText(methodAndPath)));
        var response = await new RawHttpResponseReader(socket).ReadAsync(head: methodAndPath.StartsWith("HEAD", StringComparison.Ordinal));
        return (response.Status, response.Headers, response.Body.ToArray());
    }

    /// <summary>
    /// The node's socket for <paramref name="viewer"/>'s connection, found through /proc (the connection's inode, then
    /// the descriptor that refers to it) and wrapped without taking ownership of the descriptor.
    /// </summary>
    private static Socket NodeSideOf(Socket viewer, int viewerPort)
    {
        var viewerLocal = (IPEndPoint)viewer.LocalEndPoint!;
        var local = $"0100007F:{viewerPort:X4}";
        var remote = $"0100007F:{viewerLocal.Port:X4}";
        var inode = File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(fields => fields[1] == local && fields[2] == remote)[9];
        var fd = new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
            .Single(entry => entry.LinkTarget == $"socket:[{inode}]").Name;
        return new Socket(new SafeSocketHandle(int.Parse(fd, System.Globalization.CultureInfo.InvariantCulture), ownsHandle: false));
    }

    /// <summary>Kestrel's pools, counting the blocks rented from them.</summary>
    private sealed class CountingMemoryPoolFactory : IMemoryPoolFactory<byte>
    {
        private int _rents;

        public int Rents => Volatile.Read(ref _rents);

        public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new CountingPool(this, new LargeBlockMemoryPool());

        private sealed class CountingPool(CountingMemoryPoolFactory factory, MemoryPool<byte> inner) : MemoryPool<byte>
        {
            public override int MaxBufferSize => inner.MaxBufferSize;

            public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
            {
                Interlocked.Increment(ref factory._rents);
                return inner.Rent(minBufferSize);
            }

            protected override void Dispose(bool disposing) => inner.Dispose();
        }
    }
}
