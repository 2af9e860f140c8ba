using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A viewer on a raw socket: sends one request as written and reads the node's answer to the end of the connection,
/// keeping the header bytes exactly as they came (an HTTP client would decode, fold or reject them).
/// </summary>
internal static class RawViewer
{
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
}
