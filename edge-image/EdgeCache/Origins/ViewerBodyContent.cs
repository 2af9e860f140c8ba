using System.Buffers;
using System.Net;

namespace EdgeCache.Origins;

/// <summary>
/// A viewer's request body, relayed to the origin as it arrives. The origin's readTimeout covers the origin's side only:
/// it is stopped while the node waits for the viewer's next bytes (their pace is the viewer's, bounded by
/// limits.minRequestBodyBytesPerSecond), runs for each write to the origin, and starts again once the body is sent, for
/// the wait for the response headers. A failure reading the viewer's body is kept in <see cref="ViewerFault"/>, so it is
/// answered as the viewer's fault rather than as a bad origin.
/// </summary>
/// <remarks>
/// Not StreamContent: that neither stops the timer around the viewer's reads nor flushes each piece, and the origin
/// client buffers a few KB before sending, which would keep a slow viewer's bytes from the origin.
/// </remarks>
internal sealed class ViewerBodyContent(Stream body, long? bodyLength, IdleTimeout timeout, TimeSpan readTimeout) : HttpContent
{
    private const int BufferSize = 64 * 1024;

    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;

    public Exception? ViewerFault { get; private set; }

    /// <summary>
    /// Stops relaying and completes once the viewer's body is no longer being read. The origin client does not wait for
    /// the body when the request fails, and the viewer's request must not be read after the node has answered it.
    /// </summary>
    public Task StopAsync()
    {
        _stop.Cancel();
        return Volatile.Read(ref _started) == 1 ? _finished.Task : Task.CompletedTask;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _started, 1);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var token = linked.Token;
        try
        {
            while (true)
            {
                timeout.Restart(Timeout.InfiniteTimeSpan);
                int read;
                try
                {
                    read = await body.ReadAsync(buffer, token).ConfigureAwait(false);
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && token.IsCancellationRequested))
                {
                    ViewerFault = ex;
                    throw;
                }

                timeout.Restart(readTimeout);
                if (read == 0)
                {
                    return;
                }

                await stream.WriteAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                await stream.FlushAsync(token).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _finished.TrySetResult();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = bodyLength ?? 0;
        return bodyLength.HasValue;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stop.Dispose();
        }

        base.Dispose(disposing);
    }
}
