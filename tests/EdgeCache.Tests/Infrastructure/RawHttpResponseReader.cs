using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// Reads HTTP/1.1 responses with Content-Length off a raw socket, one after another, keeping what it read ahead, so
/// pipelined responses can be checked byte for byte. Bodies are slices of the reader's buffer, not copies, so the
/// reader can be used in a tight loop of large hits.
/// </summary>
/// <param name="afterEachReceive">Awaited after every receive: a viewer that reads slowly.</param>
internal sealed class RawHttpResponseReader(Socket socket, int receiveChunk = 64 * 1024, Func<Task>? afterEachReceive = null)
{
    private static ReadOnlySpan<byte> ContentLengthField => "\r\nContent-Length: "u8;

    private byte[] _buffer = new byte[receiveChunk];
    private int _start;
    private int _end;

    /// <summary>Bytes received past the last response read.</summary>
    public int BufferedBytes => _end - _start;

    /// <param name="head">The request was a HEAD: the response has no body whatever its Content-Length says.</param>
    public async Task<RawHttpResponse> ReadAsync(bool head = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int headerEnd;
        while ((headerEnd = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
        {
            await FillAsync(receiveChunk, timeout.Token);
        }

        var headerBlock = _buffer.AsSpan(_start, headerEnd);
        Assert.True(Utf8Parser.TryParse(headerBlock[9..], out int status, out _), "no status code");
        var length = 0;
        if (!head)
        {
            var at = headerBlock.IndexOf(ContentLengthField);
            Assert.True(at >= 0, "no Content-Length");
            Assert.True(Utf8Parser.TryParse(headerBlock[(at + ContentLengthField.Length)..], out length, out _), "bad Content-Length");
        }

        var headers = Encoding.ASCII.GetString(headerBlock);
        _start += headerEnd + 4;
        while (_end - _start < length)
        {
            await FillAsync(length - (_end - _start), timeout.Token);
        }

        var body = _buffer.AsMemory(_start, length);
        _start += length;
        return new RawHttpResponse(status, headers, body);
    }

    private async Task FillAsync(int wanted, CancellationToken cancellationToken)
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }

        if (_buffer.Length - _end < Math.Min(wanted, receiveChunk))
        {
            // Keep what is buffered, at the front of a buffer large enough for what is still wanted.
            var kept = _end - _start;
            var grown = _buffer.Length - kept < wanted ? new byte[kept + wanted] : _buffer;
            Buffer.BlockCopy(_buffer, _start, grown, 0, kept);
            (_buffer, _start, _end) = (grown, 0, kept);
        }

        var room = Math.Min(_buffer.Length - _end, receiveChunk);
        var read = await socket.ReceiveAsync(_buffer.AsMemory(_end, room), SocketFlags.None, cancellationToken);
        Assert.True(read > 0, "the node closed the connection mid-response");
        _end += read;
        if (afterEachReceive is not null)
        {
            await afterEachReceive();
        }
    }
}
