using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EdgeCache.ProxyProtocol;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>listen.proxyProtocol on a real socket: the header an NLB sends, then HTTP, through the node's own transports.</summary>
public sealed class ProxyProtocolTests
{
    private const int LargeBody = 256 * 1024;

    [Fact]
    public async Task A_valid_header_then_requests_are_served_and_logged_with_the_viewers_address()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            var body = ctx.Request.Path == "/large" ? new string('x', LargeBody) : "small";
            ctx.Response.ContentLength = body.Length;
            return ctx.Response.WriteAsync(body);
        });
        CapturedJsonLog? log = null;
        await using var edge = await EdgeNode.StartAsync(
            origin,
            o =>
            {
                o.Listen.ProxyProtocol = true;
                o.AccessLog.Enabled = true;
            },
            logging => CapturedJsonLog.AddTo(logging, "EdgeCache.AccessLog", capture => log = capture));

        using var viewer = await ConnectAsync(edge);
        // The header and the first request in one segment, as an NLB's first packet carries them.
        await viewer.SendAsync(ProxyHeader.Tcp4("203.0.113.7", 51234, "10.0.0.5", 443).Concat(Get("/small")).ToArray());
        var reader = new RawHttpResponseReader(viewer);
        var first = await reader.ReadAsync();
        Assert.Equal(200, first.Status);
        Assert.Equal("small", Encoding.ASCII.GetString(first.Body.Span));

        // The same connection goes on as plain HTTP: a miss, then a large hit sent by the direct socket writer.
        await viewer.SendAsync(Get("/large"));
        Assert.Equal(LargeBody, (await reader.ReadAsync()).Body.Length);
        await viewer.SendAsync(Get("/large"));
        var hit = await reader.ReadAsync();
        Assert.Contains("X-Cache: Hit", hit.Headers, StringComparison.Ordinal);
        Assert.Equal(LargeBody, hit.Body.Length);
        await viewer.SendAsync(Get("/large")); // a large body's hits go out with sendfile (listen.sendFile)
        Assert.Equal(LargeBody, (await reader.ReadAsync()).Body.Length);

        Assert.NotNull(log);
        await CachingTests.Eventually(() => log.Lines.Count >= 4);
        Assert.All(log.Lines, line =>
        {
            using var json = JsonDocument.Parse(line);
            Assert.Equal("203.0.113.7", json.RootElement.GetProperty("State").GetProperty("Viewer").GetString());
        });
    }

    [Fact]
    public async Task A_header_that_arrives_in_pieces_is_waited_for()
    {
        await using var origin = await TestOrigin.StartAsync(ctx => ctx.Response.WriteAsync(ctx.Connection.RemoteIpAddress + " asked"));
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Listen.ProxyProtocol = true);
        using var viewer = await ConnectAsync(edge);
        var header = ProxyHeader.Tcp6("2001:db8::7", 40000, "2001:db8::1", 443, (0x04, new byte[100]));
        foreach (var piece in header.Chunk(7))
        {
            await viewer.SendAsync(piece);
            await Task.Yield();
        }

        await viewer.SendAsync(Get("/.edge/healthz"));
        Assert.StartsWith("HTTP/1.1 200 ", await ReadHeadAsync(viewer), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_local_header_from_the_load_balancers_health_check_keeps_the_connections_own_address()
    {
        await using var origin = await TestOrigin.StartAsync();
        CapturedJsonLog? log = null;
        await using var edge = await EdgeNode.StartAsync(
            origin,
            o =>
            {
                o.Listen.ProxyProtocol = true;
                o.AccessLog.Enabled = true;
            },
            logging => CapturedJsonLog.AddTo(logging, "EdgeCache.AccessLog", capture => log = capture));
        using var viewer = await ConnectAsync(edge);
        await viewer.SendAsync(ProxyHeader.Build(0x20, 0x00, []).Concat(Get("/.edge/healthz")).ToArray());
        Assert.StartsWith("HTTP/1.1 200 ", await ReadHeadAsync(viewer), StringComparison.Ordinal);
        await CachingTests.Eventually(() => log!.Lines.Count >= 1);
        using var json = JsonDocument.Parse(log!.Lines.First());
        Assert.Equal("127.0.0.1", json.RootElement.GetProperty("State").GetProperty("Viewer").GetString());
    }

    [Theory]
    [InlineData("plain", "signature")]
    [InlineData("v1", "v1")]
    [InlineData("bad-tlv", "tlv")]
    [InlineData("bad-crc", "crc32c")]
    public async Task A_connection_without_a_valid_header_is_closed_and_nothing_reaches_the_origin(string kind, string reason)
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Listen.ProxyProtocol = true);
        byte[] start = kind switch
        {
            "plain" => [],
            "v1" => "PROXY TCP4 203.0.113.7 10.0.0.5 51234 443\r\n"u8.ToArray(),
            "bad-tlv" => ProxyHeader.Build(0x21, 0x11, [.. ProxyHeader.Tcp4Block("203.0.113.7", 1, "10.0.0.5", 443), 0x04, 0x00, 0x09, 1]),
            _ => BadCrc(),
        };

        using var viewer = await ConnectAsync(edge);
        await viewer.SendAsync(start.Concat(Get("/secret")).ToArray());
        await AssertClosedAsync(viewer);
        Assert.Empty(origin.Requests);
        Assert.Contains($"edgecache_proxy_protocol_rejected_total{{reason=\"{reason}\"}} 1", await edge.Admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_header_that_stalls_is_closed_after_the_header_timeout()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Listen.ProxyProtocol = true);
        using var viewer = await ConnectAsync(edge);
        await viewer.SendAsync(ProxyHeader.Tcp4("203.0.113.7", 51234, "10.0.0.5", 443)[..20]);

        // Still waiting for the rest: nothing is read or closed while the clock stands still.
        var receive = viewer.ReceiveAsync(new byte[64].AsMemory()).AsTask();
        Assert.False(await Completes(receive, TimeSpan.FromMilliseconds(300)));

        // The connection's timer may start a moment after the connect returns: move the clock until it has fired.
        for (var i = 0; i < 50 && !receive.IsCompleted; i++)
        {
            edge.Time.Advance(ProxyProtocolMiddleware.HeaderTimeout);
            await Completes(receive, TimeSpan.FromMilliseconds(100));
        }

        await AssertClosedAsync(receive);
        Assert.Empty(origin.Requests);
        Assert.Contains("edgecache_proxy_protocol_rejected_total{reason=\"timeout\"} 1", await edge.Admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_header_followed_by_the_end_of_the_connection_is_rejected()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Listen.ProxyProtocol = true);
        using (var viewer = await ConnectAsync(edge))
        {
            await viewer.SendAsync(ProxyHeader.Tcp4("203.0.113.7", 51234, "10.0.0.5", 443)[..20]);
            viewer.Shutdown(SocketShutdown.Send);
            await AssertClosedAsync(viewer);
        }

        await CachingTests.Eventually(async () => (await edge.Admin.GetStringAsync("/metrics")).Contains("edgecache_proxy_protocol_rejected_total{reason=\"truncated\"} 1", StringComparison.Ordinal));
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public async Task Without_proxyProtocol_a_header_is_not_understood()
    {
        // The setting must match the load balancer's: a node that does not expect the header treats it as a bad request.
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin);
        using var viewer = await ConnectAsync(edge);
        await viewer.SendAsync(ProxyHeader.Tcp4("203.0.113.7", 51234, "10.0.0.5", 443).Concat(Get("/x")).ToArray());
        var response = await ReceiveAllAsync(viewer);
        Assert.StartsWith("HTTP/1.1 400", response, StringComparison.Ordinal);
        Assert.Empty(origin.Requests);
    }

    private static byte[] BadCrc()
    {
        var header = ProxyHeader.Tcp4("203.0.113.7", 1, "10.0.0.5", 443, ProxyHeader.Crc32CPlaceholder);
        ProxyHeader.SealCrc32C(header);
        header[^1] ^= 0xFF;
        return header;
    }

    private static byte[] Get(string path) => Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: cdn.example.com\r\n\r\n");

    private static async Task<Socket> ConnectAsync(EdgeNode edge)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, edge.ViewerPort);
        return socket;
    }

    private static async Task<bool> Completes(Task task, TimeSpan within) => await Task.WhenAny(task, Task.Delay(within)) == task;

    private static Task AssertClosedAsync(Socket socket) => AssertClosedAsync(socket.ReceiveAsync(new byte[64].AsMemory()).AsTask());

    /// <summary>The node closed the connection (FIN or reset) without sending a byte.</summary>
    private static async Task AssertClosedAsync(Task<int> receive)
    {
        Assert.True(await Completes(receive, TimeSpan.FromSeconds(10)), "the connection is still open");
        try
        {
            Assert.Equal(0, await receive);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // An abort may reset the connection rather than close it.
        }
    }

    /// <summary>A response's status line and headers.</summary>
    private static async Task<string> ReadHeadAsync(Socket socket)
    {
        var buffer = new byte[16 * 1024];
        var total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (buffer.AsSpan(0, total).IndexOf("\r\n\r\n"u8) < 0)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(total), timeout.Token);
            Assert.True(read > 0, "the connection closed before a response");
            total += read;
        }

        return Encoding.ASCII.GetString(buffer, 0, total);
    }

    private static async Task<string> ReceiveAllAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        var total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory(total), timeout.Token)) > 0)
        {
            total += read;
        }

        return Encoding.ASCII.GetString(buffer, 0, total);
    }
}
