using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.Fetching;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// The files behind bodies too large for memory (spill files, large disk entries) are closed when their last viewer is
/// done, not when the garbage collector gets to them; and a body that will not be stored is pulled from the origin only
/// as fast as a viewer reads it. Each test holds every descriptor the node opens for a body (<see
/// cref="DiskCacheStore.BodyFileOpened"/>), so no collector can close one for it: a descriptor found closed was closed
/// by the node.
/// </summary>
public sealed class BodyLifetimeTests : IDisposable
{
    private const int SmallObjectLimit = 64 * 1024;

    private readonly string _directory = Directory.CreateTempSubdirectory("edgecache-lifetime-").FullName;
    private readonly ConcurrentQueue<SafeFileHandle> _opened = new();

    [Fact]
    public async Task Each_spill_file_is_closed_and_its_space_freed_when_its_viewer_has_read_the_body()
    {
        // No disk tier: a chunked body that outgrows cache.maxObjectBytes moves to an unlinked file in $TMPDIR and is
        // not stored. Ten in a row, as a node passing large downloads through sees them.
        var body = CollapsingTests.RandomBytes(300 * 1024, seed: 41);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.ContentType = "application/octet-stream";
            await ctx.Response.Body.WriteAsync(body); // no Content-Length: chunked
        });
        await using var edge = await StartAsync(origin, disk: false);

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(body, await edge.Viewer.GetByteArrayAsync($"/download/{i}"));
            Assert.Equal(i + 1, _opened.Count);
            await CachingTests.Eventually(() => _opened.All(h => h.IsClosed) && OpenFiles.Under(_directory).Count == 0);
        }
    }

    [Fact]
    public async Task A_spill_file_two_viewers_share_stays_open_for_the_slower_one_and_closes_after_it()
    {
        // Far more than the kernel's socket buffers hold for a viewer that stopped reading: with 400 KiB the rest could
        // all be queued there, which ends the slow viewer's request and lets the file go before it has read on.
        var body = CollapsingTests.RandomBytes(4 * 1024 * 1024, seed: 42);
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartGatedAsync(body, 200 * 1024, rest.Task, withLength: false, cacheControl: "max-age=600");
        await using var edge = await StartAsync(origin, disk: false);

        using var fast = await edge.Viewer.GetAsync("/shared.bin", HttpCompletionOption.ResponseHeadersRead);
        using var slow = await edge.Viewer.GetAsync("/shared.bin", HttpCompletionOption.ResponseHeadersRead);
        Assert.Contains("collapsed", slow.Header("Cache-Status"), StringComparison.Ordinal);
        await using var slowBody = await slow.Content.ReadAsStreamAsync();
        var slowHalf = new byte[100 * 1024];
        await slowBody.ReadExactlyAsync(slowHalf);

        rest.SetResult();
        Assert.Equal(body, await fast.Content.ReadAsByteArrayAsync());
        var spill = Assert.Single(_opened);
        Assert.False(spill.IsClosed);

        var slowRest = new MemoryStream();
        await slowBody.CopyToAsync(slowRest);
        Assert.Equal(body, slowHalf.Concat(slowRest.ToArray()).ToArray());
        await CachingTests.Eventually(() => spill.IsClosed && OpenFiles.Under(_directory).Count == 0);
    }

    [Fact]
    public async Task A_range_of_a_body_that_is_not_stored_and_of_unknown_length_is_answered_once_the_body_has_arrived()
    {
        // The range needs the length, so its viewer reads nothing until the end: the node must not wait for it to read.
        var body = CollapsingTests.RandomBytes(3 * 1024 * 1024, seed: 45);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.ContentType = "application/octet-stream";
            await ctx.Response.Body.WriteAsync(body); // no Content-Length: chunked
        });
        await using var edge = await StartAsync(origin, disk: false);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/ranged.bin");
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(body.Length - 100, null);
        using var response = await edge.Viewer.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(body[^100..], await response.Content.ReadAsByteArrayAsync());
        await CachingTests.Eventually(() => _opened.All(h => h.IsClosed) && OpenFiles.Under(_directory).Count == 0);
    }

    [Fact]
    public async Task Hits_on_a_large_disk_entry_hold_a_descriptor_only_while_each_is_served()
    {
        var body = CollapsingTests.RandomBytes(300 * 1024, seed: 44);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.ContentLength = body.Length;
            await ctx.Response.Body.WriteAsync(body);
        });
        await using var edge = await StartAsync(origin, disk: true);
        Assert.Equal(body, await edge.Viewer.GetByteArrayAsync("/large.bin"));
        await CachingTests.Eventually(() => edge.Get<DiskCacheStore>().Count == 1);

        for (var i = 0; i < 20; i++)
        {
            using var hit = await edge.Viewer.GetAsync("/large.bin");
            Assert.Equal("Hit", hit.XCache());
            Assert.Equal(body, await hit.Content.ReadAsByteArrayAsync());
        }

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => edge.Viewer.GetByteArrayAsync("/large.bin")));
        Assert.All(concurrent, b => Assert.Equal(body, b));

        // The fetch's own file, and one per hit, each closed once its response was sent.
        Assert.True(_opened.Count >= 41, $"{_opened.Count} descriptors opened");
        await CachingTests.Eventually(() => _opened.All(h => h.IsClosed) && OpenFiles.Under(_directory).Count == 0);
        Assert.Equal(1, origin.Count("/large.bin"));
    }

    [Fact]
    public async Task A_disk_load_cut_off_by_its_viewer_leaving_closes_the_file_it_opened()
    {
        var body = CollapsingTests.RandomBytes(300 * 1024, seed: 46);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.ContentLength = body.Length;
            await ctx.Response.Body.WriteAsync(body);
        });
        await using var edge = await StartAsync(origin, disk: true);
        Assert.Equal(body, await edge.Viewer.GetByteArrayAsync("/large.bin"));
        await CachingTests.Eventually(() => edge.Get<DiskCacheStore>().Count == 1 && _opened.All(h => h.IsClosed));

        // The viewer goes (its request's token is cancelled) just after the entry's file was opened.
        var tier = edge.Get<DiskCacheStore>();
        using var viewerGone = new CancellationTokenSource();
        tier.BodyFileOpened = handle =>
        {
            _opened.Enqueue(handle);
            viewerGone.Cancel();
        };
        var key = CacheKey.For(edge.Get<BehaviorTable>().Match("/large.bin"), "/large.bin", "", new HeaderDictionary());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tier.LoadAsync(key, new HeaderDictionary(), viewerGone.Token));
        Assert.All(_opened, h => Assert.True(h.IsClosed));
        Assert.Empty(OpenFiles.Under(_directory));
    }

    [Fact]
    public async Task A_stalled_viewer_holds_the_origin_pull_of_a_body_that_is_not_stored_at_the_read_ahead_bound()
    {
        await using var origin = new BottomlessOrigin();
        await using var edge = await StartAsync(origin.Url);
        using var viewer = SmallWindowClient(edge.ViewerPort);
        using var response = await viewer.GetAsync("/stream.bin", HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        long read = 0;
        while (read < 1024 * 1024)
        {
            var n = await stream.ReadAsync(buffer);
            hash.AppendData(buffer, 0, n);
            read += n;
        }

        // The viewer reads no more. The origin sends what the viewer read, the node's read-ahead, and what the sockets
        // between them buffer: the node's send buffer to the viewer and its receive buffer from the origin, which the
        // kernel sizes itself (a few MiB each on loopback). Not the 128 MiB body.
        var sentWhileStalled = await origin.SentOnceSettledAsync();
        const long SocketBuffers = 16L * 1024 * 1024;
        Assert.True(
            sentWhileStalled <= read + FetchCoordinator.PassThroughReadAheadBytes + SocketBuffers,
            $"the origin sent {sentWhileStalled} bytes to a node whose viewer had read {read}");
        Assert.False(origin.Finished.IsCompleted);

        // Reading again, the viewer gets the rest, whole and in order.
        int more;
        while ((more = await stream.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, more);
            read += more;
        }

        Assert.Equal(BottomlessOrigin.Total, read);
        Assert.Equal(origin.Sha256, hash.GetHashAndReset());
        Assert.True(await origin.Finished);
        await CachingTests.Eventually(() => _opened.All(h => h.IsClosed) && OpenFiles.Under(_directory).Count == 0);
    }

    [Fact]
    public async Task When_the_only_viewer_of_a_body_that_is_not_stored_leaves_the_origin_pull_stops_and_the_file_closes()
    {
        await using var origin = new BottomlessOrigin();
        await using var edge = await StartAsync(origin.Url);
        using (var viewer = SmallWindowClient(edge.ViewerPort))
        {
            using var response = await viewer.GetAsync("/stream.bin", HttpCompletionOption.ResponseHeadersRead);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            for (long read = 0; read < 1024 * 1024;)
            {
                read += await stream.ReadAsync(buffer);
            }
        }

        // The viewer hung up: the origin's request is cut off rather than read to the end for nobody.
        Assert.False(await origin.Finished.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(Volatile.Read(ref origin.Sent) < BottomlessOrigin.Total / 4);
        await CachingTests.Eventually(() => _opened.Count == 1 && _opened.All(h => h.IsClosed) && OpenFiles.Under(_directory).Count == 0);
    }

    public void Dispose()
    {
        foreach (var handle in _opened)
        {
            handle.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private Task<EdgeNode> StartAsync(TestOrigin origin, bool disk) => StartAsync(origin.Url, disk, origin);

    private async Task<EdgeNode> StartAsync(string originUrl, bool disk = false, TestOrigin? testOrigin = null)
    {
        var edge = await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions { Id = "origin", Type = "http", Url = originUrl, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "origin" });
            o.Cache.MaxObjectBytes = SmallObjectLimit;
            o.Cache.MemoryBytes = 1024 * 1024;
            if (disk)
            {
                o.Cache.Disk.Directory = _directory;
            }
        });
        if (testOrigin is not null)
        {
            testOrigin.Clock = edge.Time;
        }

        var tier = edge.Get<DiskCacheStore>();
        tier.TempDirectory = _directory;
        tier.BodyFileOpened = _opened.Enqueue;
        return edge;
    }

    /// <summary>A viewer whose socket takes little before it stops the sender: what it has not read stays in the node.</summary>
    private static HttpClient SmallWindowClient(int port) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 64 * 1024 };
            await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    })
    { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>
    /// An origin on a raw socket that answers every GET with <see cref="Total"/> bytes, chunked and storable, a block at a
    /// time. A raw socket rather than Kestrel: its sends block while the node is not reading and fail once the node has
    /// closed the connection, so <see cref="Sent"/> is what left for the node (Kestrel drops writes to a closed
    /// connection without failing them, and would count them as sent).
    /// </summary>
    private sealed class BottomlessOrigin : IAsyncDisposable
    {
        public const long Total = 128L * 1024 * 1024;

        private readonly byte[] _block = CollapsingTests.RandomBytes(64 * 1024, seed: 43);
        private readonly TaskCompletionSource<bool> _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        public long Sent;

        public BottomlessOrigin()
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            for (long sent = 0; sent < Total; sent += _block.Length)
            {
                hash.AppendData(_block);
            }

            Sha256 = hash.GetHashAndReset();
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public byte[] Sha256 { get; }

        /// <summary>True when the origin sent everything, false when the node cut its request off.</summary>
        public Task<bool> Finished => _finished.Task;

        /// <summary>What the origin has sent once it has stopped sending (unchanged for a second), or everything.</summary>
        public async Task<long> SentOnceSettledAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            long last = -1;
            var unchangedSince = DateTime.UtcNow;
            while (DateTime.UtcNow < deadline && !Finished.IsCompleted)
            {
                var now = Volatile.Read(ref Sent);
                if (now != last)
                {
                    (last, unchangedSince) = (now, DateTime.UtcNow);
                }
                else if (DateTime.UtcNow - unchangedSince > TimeSpan.FromSeconds(1))
                {
                    return now;
                }

                await Task.Delay(50);
            }

            return Volatile.Read(ref Sent);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = ServeAsync(client);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using var _ = client;
            var stream = client.GetStream();
            var request = new byte[8192];
            var length = 0;
            try
            {
                // Health probes only connect; a request is read up to its blank line.
                while (length < request.Length && !request.AsSpan(0, length).EndsWith("\r\n\r\n"u8))
                {
                    var n = await stream.ReadAsync(request.AsMemory(length), _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    length += n;
                }

                await stream.WriteAsync("HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"u8.ToArray(), _stop.Token);
                var chunkHeader = System.Text.Encoding.ASCII.GetBytes($"{_block.Length:x}\r\n");
                while (Volatile.Read(ref Sent) < Total)
                {
                    await stream.WriteAsync(chunkHeader, _stop.Token);
                    await stream.WriteAsync(_block, _stop.Token);
                    await stream.WriteAsync("\r\n"u8.ToArray(), _stop.Token);
                    Interlocked.Add(ref Sent, _block.Length);
                }

                await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), _stop.Token);
                _finished.TrySetResult(true);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException)
            {
                _finished.TrySetResult(false);
            }
        }
    }
}
