using System.Text;

namespace EdgeCache.Origins;

/// <summary>
/// An origin connection that writes a request's method token as the viewer spelled it. The method token is
/// case-sensitive (RFC 9110 9.1), so a viewer's "get" is an extension method, not GET; but SocketsHttpHandler writes any
/// case-insensitive match of a method it knows in that method's canonical spelling (<c>HttpMethod.CreateHttp1EncodedBytes</c>
/// in dotnet/runtime) and has no option to keep the token. A request marked with <see cref="Expect"/> has a request line
/// that differs from the wanted one only in the case of the method's letters, at the start of the first write on the
/// connection that carries it; that prefix is put back. HTTP/1.x only, the one version the node asks origins for.
/// </summary>
internal sealed class MethodSpellingStream(Stream inner) : Stream
{
    private static readonly AsyncLocal<Pending?> Current = new();

    /// <summary>The requests sent from the caller's flow from here on carry <paramref name="method"/> in their request line.</summary>
    public static void Expect(string method) => Current.Value = new Pending(method);

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Respelled(buffer) is { } respelled)
        {
            inner.Write(respelled);
            return;
        }

        inner.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(Respelled(buffer.Span) ?? buffer, cancellationToken);

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The first write of a marked request on this connection, with the method put back; null for any other write. A
    /// request the client retries on another connection is written again, and put back again there; its body, written
    /// later on the same connection, is left alone.
    /// </summary>
    private byte[]? Respelled(ReadOnlySpan<byte> buffer)
    {
        if (Current.Value is not { } pending || ReferenceEquals(pending.WrittenTo, this))
        {
            return null;
        }

        pending.WrittenTo = this;
        var method = pending.Method;
        if (buffer.Length <= method.Length || buffer[method.Length] != (byte)' ' || !Ascii.EqualsIgnoreCase(buffer[..method.Length], method))
        {
            return null;
        }

        var copy = buffer.ToArray();
        Encoding.ASCII.GetBytes(method, copy);
        return copy;
    }

    /// <summary>A marked request: its method, and the connection its request line was last written to.</summary>
    private sealed class Pending(string method)
    {
        public string Method { get; } = method;

        public MethodSpellingStream? WrittenTo { get; set; }
    }
}
