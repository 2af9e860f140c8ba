using System.Net;
using System.Net.Sockets;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// The viewer port speaks HTTP/1.1 only (docs/decisions/0024-viewer-http2.md). An NLB TLS listener whose ALPN policy
/// lets a viewer negotiate h2 passes the decrypted HTTP/2 bytes on; this is what such a viewer would get.
/// </summary>
public sealed class ViewerHttp2Tests
{
    [Fact]
    public async Task An_http2_connection_preface_is_answered_with_goaway_http_1_1_required()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin);

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, edge.ViewerPort);
        // RFC 9113 3.4: the client preface, then an empty SETTINGS frame.
        await socket.SendAsync((byte[])[.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray(), 0, 0, 0, 0x04, 0, 0, 0, 0, 0]);
        var frame = new byte[17];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (read < frame.Length)
        {
            var n = await socket.ReceiveAsync(frame.AsMemory(read), timeout.Token);
            Assert.True(n > 0, "closed before a whole GOAWAY frame");
            read += n;
        }

        // A GOAWAY frame (type 7, 8-byte payload, stream 0): last stream 0, error HTTP_1_1_REQUIRED (0xd).
        Assert.Equal((byte[])[0, 0, 8, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0d], frame);
        Assert.Empty(origin.Requests);
    }
}
