using EdgeCache.Origins;

namespace EdgeCache.Fetching;

/// <summary>
/// An origin body of which the first bytes were already read (to learn whether it is long enough to compress): reads
/// give those bytes first, then the rest of the origin's stream. Disposing it disposes the origin's stream.
/// </summary>
internal sealed class PrefixedReadStream(byte[] prefix, int prefixLength, Stream rest) : Stream
{
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>
    /// Reads up to <paramref name="count"/> bytes of <paramref name="body"/>, or to its end if it is shorter, resetting
    /// <paramref name="idle"/> (the origin's read timeout) before each read as the fetch does.
    /// </summary>
    public static async ValueTask<(byte[] Buffer, int Length, bool Ended)> ReadPrefixAsync(Stream body, int count, IdleTimeout idle, TimeSpan readTimeout)
    {
        var buffer = new byte[count];
        var length = 0;
        while (length < count)
        {
            idle.Restart(readTimeout);
            var read = await body.ReadAsync(buffer.AsMemory(length), idle.Token).ConfigureAwait(false);
            if (read == 0)
            {
                return (buffer, length, true);
            }

            length += read;
        }

        return (buffer, length, false);
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position < prefixLength)
        {
            return TakePrefix(buffer);
        }

        return rest.Read(buffer);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _position < prefixLength ? ValueTask.FromResult(TakePrefix(buffer.Span)) : rest.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            rest.Dispose();
        }

        base.Dispose(disposing);
    }

    private int TakePrefix(Span<byte> buffer)
    {
        var count = Math.Min(buffer.Length, prefixLength - _position);
        prefix.AsSpan(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }
}
