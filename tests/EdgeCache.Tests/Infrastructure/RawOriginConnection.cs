using System.Net.Sockets;
using System.Text;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>The raw origin's side of one connection: bytes written go out as they are.</summary>
public sealed class RawOriginConnection(Socket socket)
{
    public bool Closed { get; private set; }

    /// <summary>Writes <paramref name="text"/> as Latin-1, so "\u00e9" is the byte 0xE9 and "\0" a NUL.</summary>
    public Task WriteAsync(string text) => WriteAsync(Encoding.Latin1.GetBytes(text));

    public async Task WriteAsync(byte[] bytes) => await socket.SendAsync(bytes, SocketFlags.None);

    /// <summary>Closes the connection (after whatever was written): an early close, or the end of a close-delimited body.</summary>
    public void Close()
    {
        Closed = true;
        socket.Shutdown(SocketShutdown.Both);
    }
}
