using EdgeCache.Caching;
using EdgeCache.Origins;

namespace EdgeCache.Fetching;

/// <summary>
/// Reads an origin's body for whoever consumes it (the fetch that stores it, a pass-through that streams it): the
/// origin's read timeout restarts before each read, a failed or silent origin becomes an
/// <see cref="IncompleteBodyException"/>, and the bytes are counted against the Content-Length, so a body cut short is
/// never taken for a whole one.
/// </summary>
internal sealed class OriginBodyReader : IDisposable
{
    private readonly Stream _body;
    private readonly long? _expectedLength;
    private readonly TimeSpan _readTimeout;
    private readonly IdleTimeout _idle;
    private readonly CancellationToken _cancellationToken;

    /// <param name="expectedLength">The Content-Length the bytes read must add up to; null when there is none to check (chunked, or decoded as read).</param>
    /// <param name="cancellationToken">Stops reading without an error of the origin's (the viewer left, the node is stopping).</param>
    public OriginBodyReader(Stream body, long? expectedLength, IOrigin origin, TimeProvider time, CancellationToken cancellationToken)
    {
        _body = body;
        _expectedLength = expectedLength;
        _readTimeout = origin.ReadTimeout;
        _idle = new IdleTimeout(time, _readTimeout, cancellationToken);
        _cancellationToken = cancellationToken;
    }

    public long Received { get; private set; }

    /// <summary>
    /// False once a body of known length has all arrived: one more read would only learn that it ended (and a caller
    /// reading into fresh memory would take a segment for nothing). True while the length is unknown.
    /// </summary>
    public bool MayHaveMore => _expectedLength is not { } length || Received < length;

    /// <summary>The next bytes, 0 at the body's end.</summary>
    public async ValueTask<int> ReadAsync(Memory<byte> buffer)
    {
        _idle.Restart(_readTimeout);
        int read;
        try
        {
            read = await _body.ReadAsync(buffer, _idle.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!_cancellationToken.IsCancellationRequested)
        {
            throw new IncompleteBodyException($"no body bytes for {_readTimeout.TotalMilliseconds:0} ms after {Received} bytes", ex);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or InvalidDataException && ex is not IncompleteBodyException)
        {
            throw new IncompleteBodyException($"origin body failed after {Received} bytes: {ex.Message}", ex);
        }

        Received += read;
        return read;
    }

    /// <summary>Stops the read timeout while the consumer waits for something else (its viewers): it is for the origin's silence only.</summary>
    public void PauseTimeout() => _idle.Restart(Timeout.InfiniteTimeSpan);

    /// <summary>At the body's end: throws when fewer (or more) bytes arrived than the Content-Length said.</summary>
    public void EnsureComplete()
    {
        if (_expectedLength is { } expected && Received != expected)
        {
            throw new IncompleteBodyException($"origin sent {Received} of {expected} bytes");
        }
    }

    public void Dispose() => _idle.Dispose();
}
