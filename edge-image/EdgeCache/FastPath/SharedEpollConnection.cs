using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace EdgeCache.FastPath;

/// <summary>
/// A viewer connection of <see cref="SharedEpollTransportFactory"/>. Reads happen on whichever I/O thread of the
/// <see cref="SharedEpoll"/> took the readiness event, straight into the input pipe, and Kestrel parses and serves the
/// request on that thread (the pipe's reader scheduler is inline). Sends go through the socket's own asynchronous API,
/// or, on the viewer port, through <see cref="ViewerSocketWriter"/>, which replaces this output.
/// </summary>
/// <remarks>
/// Shutdown and the connection-closed signal follow Kestrel's socket transport (SocketConnection): the end of the
/// receive side fires <see cref="ConnectionClosed"/>, and a completed output closes the connection gracefully. One
/// difference: an abort resets the connection, where Kestrel's transport sends a FIN for aborts too. A viewer is cut
/// off by an abort for not reading (the send watchdog) or mid-body (an origin failure); a reset frees the socket's
/// buffers at once instead of leaving the kernel to deliver them to a viewer that may never read, and a viewer cannot
/// take a cut-off body for a whole one either way.
/// </remarks>
internal sealed partial class SharedEpollConnection : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature,
    IConnectionEndPointFeature, IMemoryPoolFeature, IConnectionSocketFeature, IViewerSocketReadiness
{
    // The receive side's state, so that one thread at a time reads: events that arrive while a thread reads only ask
    // it to read again (edge-triggered epoll: nothing is missed as long as someone reads after every event).
    private const int Idle = 0, Reading = 1, ReadAgain = 2;

    private static long _lastConnection;

    private readonly Socket _socket;
    private readonly SharedEpoll _poller;
    private readonly ILogger _logger;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly IDuplexPipe _originalTransport;
    private readonly CancellationTokenSource _connectionClosedSource = new();
    private readonly TaskCompletionSource _connectionClosedFired = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _receiveEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _shutdownLock = new();
    private int _receiveState;
    private int _writableEvents;
    private volatile bool _hangUp;
    private Action<object?>? _writableCallback;
    private object? _writableState;
    private bool _receiveDone;
    private volatile Exception? _shutdownReason;
    private int _connectionClosed;
    private Task? _sending;
    private Task? _disposing;

    public SharedEpollConnection(Socket socket, SharedEpoll poller, MemoryPool<byte> pool, long maxInputBuffer, ILogger logger)
    {
        _socket = socket;
        _poller = poller;
        _logger = logger;
        MemoryPool = pool;
        ConnectionId = "E" + Interlocked.Increment(ref _lastConnection).ToString("X8", System.Globalization.CultureInfo.InvariantCulture);
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionClosed = _connectionClosedSource.Token;

        // Reader inline: Kestrel serves what a read delivered on the I/O thread that read it. Writer on the thread pool:
        // only a read paused by a full buffer (a request body the application is slow to take) resumes there.
        var pause = maxInputBuffer <= 0 ? 0 : maxInputBuffer;
        _input = new Pipe(new PipeOptions(pool, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: pause, resumeWriterThreshold: pause / 2, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(pool, readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
        Transport = _originalTransport = new DuplexPipe(_input.Reader, _output.Writer);

        Features = new FeatureCollection();
        Features.Set<IConnectionIdFeature>(this);
        Features.Set<IConnectionTransportFeature>(this);
        Features.Set<IConnectionItemsFeature>(this);
        Features.Set<IConnectionLifetimeFeature>(this);
        Features.Set<IConnectionEndPointFeature>(this);
        Features.Set<IMemoryPoolFeature>(this);
        Features.Set<IConnectionSocketFeature>(this);
        Features.Set<IViewerSocketReadiness>(this);
    }

    /// <summary>This connection's id in the <see cref="SharedEpoll"/> set.</summary>
    public ulong PollId { get; set; }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; }

    public override IDictionary<object, object?> Items { get; set; } = new ConnectionItems();

    public override IDuplexPipe Transport { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public MemoryPool<byte> MemoryPool { get; }

    public Socket Socket => _socket;

    /// <summary>Completes when the receive side has ended (FIN, reset, abort) and the input pipe is complete.</summary>
    public Task ReceiveEnded => _receiveEnded.Task;

    /// <summary>
    /// Adds the socket to the shared set (reads start with its first event, into the input pipe, which holds them until
    /// Kestrel reads), then starts the send loop; when the set refuses the socket, nothing has started.
    /// </summary>
    public void Start()
    {
        _poller.Register(this, (int)_socket.SafeHandle.DangerousGetHandle());
        _sending = SendAsync();
    }

    /// <summary>From an I/O thread, on an event for this socket: a waiting send goes on first, then the read.</summary>
    public void OnEvents(uint events)
    {
        if ((events & (Libc.EPOLLOUT | Libc.EPOLLERR | Libc.EPOLLHUP)) != 0)
        {
            OnWritable();
        }

        if ((events & (Libc.EPOLLRDHUP | Libc.EPOLLERR | Libc.EPOLLHUP)) != 0)
        {
            // The viewer's FIN (or an error) is in: no later event will come for it, so reads go on until recv says so.
            _hangUp = true;
        }

        if ((events & (Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLERR | Libc.EPOLLHUP)) != 0)
        {
            OnReadable();
        }
    }

    public int WritableEvents => Volatile.Read(ref _writableEvents);

    public bool NotifyWhenWritable(int seenEvents, Action<object?> callback, object? state)
    {
        _writableState = state;
        Interlocked.Exchange(ref _writableCallback, callback);
        // An event between the caller's failed send and the line above found no callback: take it back and say so.
        return Volatile.Read(ref _writableEvents) == seenEvents
            || Interlocked.CompareExchange(ref _writableCallback, null, callback) != callback;
    }

    private void OnWritable()
    {
        Interlocked.Increment(ref _writableEvents);
        var callback = Interlocked.Exchange(ref _writableCallback, null);
        callback?.Invoke(_writableState);
    }

    /// <summary>
    /// Reads now, or, when another thread is reading, asks it to read once more before it stops.
    /// </summary>
    private void OnReadable()
    {
        while (true)
        {
            var state = Volatile.Read(ref _receiveState);
            if (state == Idle)
            {
                if (Interlocked.CompareExchange(ref _receiveState, Reading, Idle) == Idle)
                {
                    Receive();
                    return;
                }
            }
            else if (state == ReadAgain || Interlocked.CompareExchange(ref _receiveState, ReadAgain, Reading) == Reading)
            {
                return;
            }
        }
    }

    /// <summary>Reads what the socket has, hands it to Kestrel, and repeats while events came in meanwhile.</summary>
    private void Receive()
    {
        while (true)
        {
            Volatile.Write(ref _receiveState, Reading);
            var paused = ReadAvailable();
            if (_receiveDone)
            {
                return;
            }

            if (paused is { } flush)
            {
                // Stays Reading: events only mark ReadAgain until the application takes the buffered bytes.
                _ = ResumeAfterFlushAsync(flush);
                return;
            }

            if (Interlocked.CompareExchange(ref _receiveState, Idle, Reading) == Reading)
            {
                return;
            }
        }
    }

    private async Task ResumeAfterFlushAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            var result = await flush.ConfigureAwait(false);
            if (result.IsCompleted || result.IsCanceled)
            {
                EndReceive(null);
                return;
            }

            Receive();
        }
        catch (Exception ex)
        {
            EndReceive(ex);
        }
    }

    /// <summary>
    /// Reads until the socket is drained. Returns a flush that did not complete (the input is full) to wait on, or null;
    /// when the receive side ended, <see cref="_receiveDone"/> is set.
    /// </summary>
    private unsafe ValueTask<FlushResult>? ReadAvailable()
    {
        var writer = _input.Writer;
        while (true)
        {
            nint received;
            int errno = 0;
            var memory = writer.GetMemory(1);
            var handle = _socket.SafeHandle;
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                fixed (byte* buffer = &MemoryMarshal.GetReference(memory.Span))
                {
                    received = Libc.Recv((int)handle.DangerousGetHandle(), buffer, (nuint)memory.Length, 0);
                    if (received < 0)
                    {
                        errno = Marshal.GetLastPInvokeError();
                    }
                }
            }
            catch (ObjectDisposedException)
            {
                // Closed by a shutdown or an abort: the receive side ends with its reason.
                EndReceive(null);
                return null;
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }

            if (received == 0)
            {
                EndReceive(null);
                return null;
            }

            if (received < 0)
            {
                if (errno == Libc.EINTR)
                {
                    continue;
                }

                if (errno == Libc.EAGAIN)
                {
                    return null;
                }

                EndReceive(new SocketException(errno == Libc.ECONNRESET ? (int)SocketError.ConnectionReset : errno));
                return null;
            }

            writer.Advance((int)received);
            var flush = writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                return flush;
            }

            var result = flush.GetAwaiter().GetResult();
            if (result.IsCompleted || result.IsCanceled)
            {
                // Kestrel stopped reading: nothing more to deliver.
                EndReceive(null);
                return null;
            }

            if (received < memory.Length && !_hangUp)
            {
                // Short read: the socket was empty at that moment, and anything arriving after it raises a new event
                // (edge-triggered), so the recv that would only say EAGAIN is skipped. Not after a FIN came in: its event
                // has been and gone, and only a recv returns it.
                return null;
            }
        }
    }

    private void EndReceive(Exception? error)
    {
        if (_receiveDone)
        {
            return;
        }

        _receiveDone = true;
        Exception? reason = _shutdownReason;
        if (reason is null)
        {
            if (error is SocketException { SocketErrorCode: SocketError.ConnectionReset } reset)
            {
                LogConnectionReset(_logger, ConnectionId);
                reason = new ConnectionResetException(reset.Message, reset);
            }
            else
            {
                reason = error;
            }
        }

        _input.Writer.Complete(reason);
        FireConnectionClosed();
        _receiveEnded.TrySetResult();
    }

    /// <summary>Kestrel's own output (the admin port, or with listen.directBodySend off): sent as the socket takes it.</summary>
    private async Task SendAsync()
    {
        Exception? shutdownReason = null;
        Exception? unexpectedError = null;
        var reader = _output.Reader;
        List<ArraySegment<byte>>? segments = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                try
                {
                    while (!buffer.IsEmpty)
                    {
                        int sent;
                        if (buffer.IsSingleSegment)
                        {
                            sent = await _socket.SendAsync(buffer.First, SocketFlags.None).ConfigureAwait(false);
                        }
                        else
                        {
                            segments ??= [];
                            foreach (var segment in buffer)
                            {
                                segments.Add(MemoryMarshal.TryGetArray(segment, out var array) ? array : new ArraySegment<byte>(segment.ToArray()));
                            }

                            try
                            {
                                sent = await _socket.SendAsync(segments, SocketFlags.None).ConfigureAwait(false);
                            }
                            finally
                            {
                                segments.Clear();
                            }
                        }

                        buffer = buffer.Slice(sent);
                    }
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
                {
                    shutdownReason = new ConnectionResetException(ex.Message, ex);
                    break;
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.InvalidArgument)
                {
                    shutdownReason = ex;
                    break;
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (ObjectDisposedException ex)
        {
            shutdownReason = ex;
        }
        catch (Exception ex)
        {
            shutdownReason = unexpectedError = ex;
            LogSendFailed(_logger, ConnectionId, ex);
        }
        finally
        {
            Shutdown(shutdownReason);
            reader.Complete(unexpectedError);
        }
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        Shutdown(abortReason);
        _output.Reader.CancelPendingRead();
    }

    void IConnectionLifetimeFeature.Abort() => Abort(new ConnectionAbortedException("The connection was aborted by the application."));

    /// <summary>
    /// Closes the socket once: with a reason (an abort or a failed send), by reset (see the remarks on the class);
    /// without, gracefully. Then ends the receive side if no read has yet.
    /// </summary>
    private void Shutdown(Exception? reason)
    {
        lock (_shutdownLock)
        {
            if (_shutdownReason is not null)
            {
                return;
            }

            _shutdownReason = reason ?? new ConnectionAbortedException("The connection's output completed.");
            if (reason is not null)
            {
                _socket.Close(timeout: 0);
            }
            else
            {
                try
                {
                    _socket.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                    // The viewer is already gone; closing is all that is left.
                }

                _socket.Dispose();
            }
        }

        // The closed socket raises no more events: a read, here or by the thread reading now, finds it closed and ends
        // the receive side, and a waiting send finds it closed and fails. On the thread pool, because this may run inside Kestrel's own processing of the connection.
        _input.Writer.CancelPendingFlush();
        ThreadPool.UnsafeQueueUserWorkItem(static connection => connection.OnEvents(Libc.EPOLLHUP), this, preferLocal: false);
    }

    private void FireConnectionClosed()
    {
        if (Interlocked.Exchange(ref _connectionClosed, 1) != 0)
        {
            return;
        }

        // As Kestrel's transport: the token's callbacks (RequestAborted) run on the thread pool, never on the I/O thread.
        ThreadPool.UnsafeQueueUserWorkItem(static connection =>
        {
            try
            {
                connection._connectionClosedSource.Cancel();
            }
            catch (Exception ex)
            {
                LogClosedCallbackFailed(connection._logger, connection.ConnectionId, ex);
            }

            connection._connectionClosedFired.TrySetResult();
        }, this, preferLocal: false);
    }

    public override ValueTask DisposeAsync()
    {
        lock (_shutdownLock)
        {
            return new ValueTask(_disposing ??= DisposeCoreAsync());
        }
    }

    private async Task DisposeCoreAsync()
    {
        _originalTransport.Input.Complete();
        _originalTransport.Output.Complete();
        try
        {
            if (_sending is not null)
            {
                await _sending.ConfigureAwait(false);
            }

            await _receiveEnded.Task.ConfigureAwait(false);
            await _connectionClosedFired.Task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogDisposeFailed(_logger, ConnectionId, ex);
        }

        _poller.Unregister(this);
        _connectionClosedSource.Dispose();
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "Connection {ConnectionId} reset by the viewer")]
    private static partial void LogConnectionReset(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Connection {ConnectionId}: sending failed")]
    private static partial void LogSendFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "Connection {ConnectionId}: a connection-closed callback failed")]
    private static partial void LogClosedCallbackFailed(ILogger logger, string connectionId, Exception exception);

    [LoggerMessage(EventId = 13, Level = LogLevel.Error, Message = "Connection {ConnectionId}: disposing failed")]
    private static partial void LogDisposeFailed(ILogger logger, string connectionId, Exception exception);

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
