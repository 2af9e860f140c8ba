using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A viewer on a raw socket, for requests HttpClient will not send (odd Host values, broken framing, stalls), and for
/// answers it would decode, fold or reject: the static helpers keep the header bytes exactly as they came.
/// </summary>
internal sealed class RawViewer : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _received = [];

    private RawViewer(Socket socket)
    {
        _socket = socket;
    }

    public static async Task<RawViewer> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return new RawViewer(socket);
    }

    /// <summary>Sends <paramref name="request"/> as it is and reads the response's status line and headers.</summary>
    public async Task<(int Status, string Headers)> SendAsync(string request)
    {
        await SendRawAsync(request);
        return await ReadHeadAsync();
    }

    public async Task SendRawAsync(string bytes) => await _socket.SendAsync(Encoding.ASCII.GetBytes(bytes), SocketFlags.None);

    /// <summary>The next response's status and header block (its body, if any, is left unread).</summary>
    public async Task<(int Status, string Headers)> ReadHeadAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new byte[4096];
        int end;
        while ((end = IndexOfHeadEnd()) < 0)
        {
            var read = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.True(read > 0, "the node closed the connection before a response");
            _received.AddRange(buffer.AsSpan(0, read));
        }

        var head = Encoding.ASCII.GetString([.. _received.Take(end)]);
        _received.RemoveRange(0, end + 4);
        return (int.Parse(head.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture), head);
    }

    /// <summary>Sends body bytes until cancelled or the node stops the connection.</summary>
    public async Task SendForeverAsync(CancellationToken cancellationToken)
    {
        var block = new byte[64 * 1024];
        try
        {
            while (true)
            {
                await _socket.SendAsync(block, SocketFlags.None, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException)
        {
            // Done: cancelled by the test, or the node gave up on the request.
        }
    }

    /// <summary>Everything the node sends until it closes the connection (for a request it must end with a close).</summary>
    public static async Task<string> ExchangeAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await reader.ReadToEndAsync(timeout.Token);
    }

    /// <summary>GET <paramref name="target"/> with <paramref name="headers"/> ("Name: value"), on a connection closed after it.</summary>
    public static Task<RawViewerResponse> GetAsync(int port, string target, params string[] headers) =>
        SendAsync(port, $"GET {target} HTTP/1.1\r\nHost: edge\r\n{string.Concat(headers.Select(h => h + "\r\n"))}Connection: close\r\n\r\n");

    /// <summary>Sends <paramref name="request"/> (Latin-1) and reads until the node closes the connection or resets it.</summary>
    public static async Task<RawViewerResponse> SendAsync(int port, string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        await socket.SendAsync(Encoding.Latin1.GetBytes(request), SocketFlags.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        var reset = false;
        while (true)
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (SocketException)
            {
                reset = true;
                break;
            }

            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
        }

        return RawViewerResponse.Parse(received.ToArray(), reset, request.StartsWith("HEAD ", StringComparison.Ordinal));
    }


    public void Dispose() => _socket.Dispose();

    private int IndexOfHeadEnd()
    {
        for (var i = 0; i + 3 < _received.Count; i++)
        {
            if (_received[i] == '\r' && _received[i + 1] == '\n' && _received[i + 2] == '\r' && _received[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
