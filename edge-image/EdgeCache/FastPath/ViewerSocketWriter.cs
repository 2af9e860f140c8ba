using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Microsoft.AspNetCore.Connections;

namespace EdgeCache.FastPath;

/// <summary>
/// A viewer connection's output: Kestrel writes each response here, and each flush is one <c>sendmsg</c> on the
/// connection's socket. A stored body can be queued by reference (<see cref="TryQueueStoredBody"/>), so the kernel
/// copies it from the cache's own memory, the one copy Varnish's <c>writev</c> makes, instead of Kestrel first
/// copying it into its output pipe. A body held in a <see cref="MappedBodyMemory"/> goes with <c>sendfile</c>, which
/// makes no copy at all: the kernel sends the cached pages (listen.sendFile).
/// </summary>
/// <remarks>
/// <para>
/// Why write this: Kestrel copies every body into its pipe through a span, and there is no API to hand it memory to
/// send as it is. At 1 MiB that copy was 17 % of the node's CPU (docs/decisions/0015-direct-body-send.md). Kestrel's
/// socket transport stays in charge of reading, of aborts and of closing the socket; only the sends move here
/// (<see cref="ViewerSocketWriterMiddleware"/>).
/// </para>
/// <para>
/// Kestrel wraps this writer in its own <c>ConcurrentPipeWriter</c>, which keeps writes that arrive while a flush is
/// pending in its own buffer and hands them over when the flush completes, so the calls here are sequential. A send
/// completes on the socket's I/O thread (listen.inlineIo) and the flush's awaiter continues there.
/// </para>
/// </remarks>
public sealed class ViewerSocketWriter : PipeWriter, IValueTaskSource<FlushResult>
{
    // What GetMemory hands out while a stored body waits to be queued. Nothing written into it is ever sent: the
    // Advance that follows queues the stored body instead.
    private static readonly byte[] StoredBodyMarker = new byte[16];

    private readonly Socket _socket;
    private readonly MemoryPool<byte> _pool;
    private readonly Action<ConnectionAbortedException> _abortConnection;
    private readonly Prometheus.Counter? _fileResponses;
    private readonly SocketSendEventArgs _sendArgs;
    private readonly Lock _sync = new();

    // Bytes to send on the next flush, in order, and the rented blocks behind them (returned once sent).
    private List<ArraySegment<byte>> _queued = [];
    private List<IMemoryOwner<byte>> _queuedBlocks = [];

    // The same for the send in flight; swapped with the two above at each flush.
    private List<ArraySegment<byte>> _sending = [];
    private List<IMemoryOwner<byte>> _sendingBlocks = [];

    // The block being written: [_currentStart, _currentEnd) written and not yet queued, up to _currentLimit.
    private byte[]? _current;
    private int _currentStart;
    private int _currentEnd;
    private int _currentLimit;

    // Set only inside TryQueueStoredBody: while one is, GetMemory hands out the marker and Advance queues it.
    private ArraySegment<byte> _storedBody;
    private FileRegion _storedFile;

    // A stored body to send with sendfile, after the first Index segments of the queue (at most one per flush), and the
    // same for the send in flight.
    private FileRegion _queuedFile;
    private FileRegion _sendingFile;
    private bool _sendingFileFromMemory;

    // Whether the socket is non-blocking, which sendfile from this thread needs (checked until it is; .NET makes a
    // socket non-blocking when its first asynchronous operation starts, and Kestrel's first receive precedes any send).
    private bool _nonBlocking;

    private ManualResetValueTaskSourceCore<FlushResult> _flushSource;
    private long _sendsStarted;
    private bool _sendInFlight;
    private bool _cancelFlush;
    private bool _failed;
    private bool _completed;

    // Owned by ViewerSendWatchdog's sweep (one at a time): the send and acknowledged bytes it saw last, and since when
    // neither moved. -1: no send was in flight at the last look.
    private long _watchedSend = -1;
    private ulong _watchedAcked;
    private long _watchedSince;

    /// <param name="socket">The connection's socket; its transport still reads from it and closes it.</param>
    /// <param name="pool">Where the blocks for response headers and copied bodies come from (Kestrel's connection pool).</param>
    /// <param name="abortConnection">Called once when a send fails, so that Kestrel tears the connection down.</param>
    public ViewerSocketWriter(Socket socket, MemoryPool<byte> pool, Action<ConnectionAbortedException> abortConnection, Prometheus.Counter? fileResponses = null)
    {
        _socket = socket;
        _pool = pool;
        _abortConnection = abortConnection;
        _fileResponses = fileResponses;
        _sendArgs = new SocketSendEventArgs(this);
    }

    /// <summary>Kestrel's id for the connection, for the log.</summary>
    public string ConnectionId { get; init; } = "";

    /// <summary>Flushes with a file region sent whole from the flushing thread, and those finished by SendPacketsAsync (for tests).</summary>
    internal (int Direct, int Packets) FileSends { get; private set; }

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes
    {
        get
        {
            long bytes = _currentEnd - _currentStart + _queuedFile.Count;
            foreach (var segment in _queued)
            {
                bytes += segment.Count;
            }

            return bytes;
        }
    }

    /// <summary>
    /// Queues <paramref name="body"/> as the whole body of the response being written, by reference: the caller must
    /// have started the response (its headers are in this writer), must not change the bytes until the flush that
    /// follows completes, and must flush. Returns false, having queued nothing, when the body cannot go this way (a
    /// flush is pending and Kestrel is buffering, the connection failed, or the memory is neither an array nor a
    /// <see cref="MappedBodyMemory"/>); the caller then writes the body as usual.
    /// </summary>
    /// <param name="responseBodyWriter">The response's <c>BodyWriter</c>: Kestrel counts the body's bytes against Content-Length through it.</param>
    public bool TryQueueStoredBody(PipeWriter responseBodyWriter, ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty || _failed || _completed)
        {
            return false;
        }

        if (MemoryMarshal.TryGetArray(body, out var segment))
        {
            _storedBody = segment;
        }
        else if (_queuedFile.Body is null && MemoryMarshal.TryGetMemoryManager(body, out MappedBodyMemory? mapped, out var start, out var length))
        {
            _storedFile = new FileRegion(mapped, start, length, 0);
        }
        else
        {
            return false;
        }

        try
        {
            // Kestrel passes GetMemory and Advance through to this writer unless it is buffering behind a pending
            // flush; the marker says which. Only when this writer handed out the marker does the Advance below reach it.
            var memory = responseBodyWriter.GetMemory();
            if (!MemoryMarshal.TryGetArray<byte>(memory, out var handedOut) || !ReferenceEquals(handedOut.Array, StoredBodyMarker))
            {
                return false;
            }

            responseBodyWriter.Advance(body.Length);
            if (StoredBodyPending)
            {
                // Kestrel counted the bytes but they did not arrive here: the response cannot be completed correctly.
                throw new InvalidOperationException("the stored body's Advance did not reach the connection's writer");
            }

            return true;
        }
        finally
        {
            _storedBody = default;
            _storedFile = default;
        }
    }

    private bool StoredBodyPending => _storedBody.Array is not null || _storedFile.Body is not null;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeHint);
        if (StoredBodyPending)
        {
            return StoredBodyMarker;
        }

        EnsureCapacity(sizeHint);
        return _current.AsMemory(_currentEnd, _currentLimit - _currentEnd);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (StoredBodyPending)
        {
            var stored = _storedFile.Body is not null ? _storedFile.Count : _storedBody.Count;
            if (bytes != stored)
            {
                throw new InvalidOperationException($"advanced {bytes} bytes over a stored body of {stored}");
            }

            QueueCurrent();
            if (_storedFile.Body is not null)
            {
                _queuedFile = _storedFile with { Index = _queued.Count };
            }
            else
            {
                _queued.Add(_storedBody);
            }

            _storedBody = default;
            _storedFile = default;
            return;
        }

        if (bytes < 0 || bytes > _currentLimit - _currentEnd)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "advanced past the memory handed out");
        }

        _currentEnd += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        lock (_sync)
        {
            if (_sendInFlight)
            {
                throw new InvalidOperationException("a flush is already in progress");
            }

            if (_cancelFlush)
            {
                _cancelFlush = false;
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: false));
            }

            QueueCurrent();
            if (_failed || _completed)
            {
                // The connection is gone: what was written is dropped, as a pipe whose reader completed drops it.
                _queued.Clear();
                _queuedFile = default;
                ReturnBlocks(_queuedBlocks);
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
            }

            if (_queued.Count == 0 && _queuedFile.Body is null)
            {
                return default;
            }

            (_sending, _queued) = (_queued, _sending);
            (_sendingBlocks, _queuedBlocks) = (_queuedBlocks, _sendingBlocks);
            (_sendingFile, _queuedFile) = (_queuedFile, default);
            ForgetCurrent();
            _sendInFlight = true;
            _sendsStarted++;
            _flushSource.Reset();
        }

        if (_sendingFile.Body is not null)
        {
            return SendWithFile();
        }

        bool pending;
        try
        {
            if (_sending.Count == 1)
            {
                _sendArgs.BufferList = null;
                _sendArgs.SetBuffer(_sending[0].Array, _sending[0].Offset, _sending[0].Count);
            }
            else
            {
                _sendArgs.SetBuffer(null, 0, 0);
                _sendArgs.BufferList = _sending;
            }

            pending = _socket.SendAsync(_sendArgs);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            return new ValueTask<FlushResult>(FinishSend(SocketError.OperationAborted, ex));
        }

        return pending
            ? new ValueTask<FlushResult>(this, _flushSource.Version)
            : new ValueTask<FlushResult>(FinishSend(_sendArgs.SocketError, null));
    }

    public override void CancelPendingFlush()
    {
        // A send already handed to the kernel cannot be taken back; the flush waiting on it reports the cancellation
        // when it completes, and a flush that is not pending reports it next time (as Pipe does).
        lock (_sync)
        {
            _cancelFlush = true;
        }
    }

    /// <summary>Ends the writer. Nothing more is sent; the socket belongs to the transport, which closes it.</summary>
    public override void Complete(Exception? exception = null)
    {
        lock (_sync)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            ForgetCurrent();
            _queued.Clear();
            _queuedFile = default;
            ReturnBlocks(_queuedBlocks);
            if (!_sendInFlight)
            {
                _sendArgs.Dispose();
            }
        }
    }

    /// <summary>
    /// <see cref="ViewerSendWatchdog"/>'s look at this connection, once per sweep: true when one send has been in flight
    /// for <paramref name="timeoutTimestamps"/> with no byte acknowledged by the viewer, and the connection has now been
    /// aborted. A slow viewer that keeps acknowledging bytes is never cut off.
    /// </summary>
    internal bool AbortIfStalled(long now, long timeoutTimestamps, TimeSpan timeout)
    {
        long send;
        lock (_sync)
        {
            if (!_sendInFlight || _failed || _completed)
            {
                _watchedSend = -1;
                return false;
            }

            send = _sendsStarted;
        }

        var acked = ReadBytesAcked();
        if (send != _watchedSend || acked != _watchedAcked)
        {
            _watchedSend = send;
            _watchedAcked = acked;
            _watchedSince = now;
            return false;
        }

        if (now - _watchedSince < timeoutTimestamps)
        {
            return false;
        }

        lock (_sync)
        {
            if (!_sendInFlight || _failed || _completed || _sendsStarted != send)
            {
                return false;
            }

            // The send fails when the abort closes the socket; FinishSend then reports the connection gone without
            // aborting it a second time.
            _failed = true;
        }

        _abortConnection(new ConnectionAbortedException($"the viewer acknowledged no bytes for {timeout.TotalSeconds} s"));
        return true;
    }

    /// <summary>
    /// Bytes of this connection the viewer has acknowledged (Linux's <c>tcp_info.tcpi_bytes_acked</c>, a u64 at byte 120
    /// since Linux 4.1), so that a send in flight shows progress before it completes. 0 where that is not available: a
    /// send then shows progress only by completing.
    /// </summary>
    private ulong ReadBytesAcked()
    {
        const int TcpInfo = 11, BytesAckedOffset = 120;
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        Span<byte> info = stackalloc byte[BytesAckedOffset + sizeof(ulong)];
        try
        {
            var length = _socket.GetRawSocketOption((int)SocketOptionLevel.Tcp, TcpInfo, info);
            return length >= info.Length ? MemoryMarshal.Read<ulong>(info[BytesAckedOffset..]) : 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return 0;
        }
    }

    internal void OnSendCompleted() => _flushSource.SetResult(FinishSend(_sendArgs.SocketError, null));

    private FlushResult FinishSend(SocketError error, Exception? exception)
    {
        bool canceled;
        lock (_sync)
        {
            _sendInFlight = false;
            _sending.Clear();
            if (_sendingFile.Body is not null && !_sendingFileFromMemory && error == SocketError.Success && exception is null)
            {
                // edgecache_sendfile_responses_total: the stored body went out of its file, all of it.
                _fileResponses?.Inc();
            }

            _sendingFile = default;
            _sendingFileFromMemory = false;
            if (_sendArgs.SendPacketsElements is not null)
            {
                _sendArgs.SendPacketsElements = null;
            }

            ReturnBlocks(_sendingBlocks);
            canceled = _cancelFlush;
            _cancelFlush = false;
            if (_completed)
            {
                _sendArgs.Dispose();
            }

            if (error == SocketError.Success && exception is null)
            {
                return new FlushResult(canceled, isCompleted: false);
            }

            if (_failed)
            {
                return new FlushResult(canceled, isCompleted: true);
            }

            _failed = true;
        }

        // Outside the lock: the abort shuts the socket down and fires the connection's closed token (RequestAborted).
        exception ??= new SocketException((int)error);
        _abortConnection(new ConnectionAbortedException("sending to the viewer failed: " + exception.Message, exception));
        return new FlushResult(canceled, isCompleted: true);
    }

    /// <summary>
    /// Sends the flush that carries a stored body's file region: the segments before it, the region with <c>sendfile</c>,
    /// then any after, each straight from this thread while the socket takes them. When its buffer fills, the rest goes
    /// by <see cref="Socket.SendPacketsAsync"/>, which waits for room and continues with <c>sendfile</c> from the same point.
    /// </summary>
    private ValueTask<FlushResult> SendWithFile()
    {
        int item = 0, itemSent = 0;
        var error = SendNow(ref item, ref itemSent);
        if (error != SocketError.WouldBlock)
        {
            FileSends = FileSends with { Direct = FileSends.Direct + 1 };
            return new ValueTask<FlushResult>(FinishSend(error, null));
        }

        FileSends = FileSends with { Packets = FileSends.Packets + 1 };

        bool pending;
        try
        {
            _sendArgs.BufferList = null;
            _sendArgs.SetBuffer(null, 0, 0);
            try
            {
                pending = SendPackets(RemainingPackets(item, itemSent, fromFile: true));
            }
            catch (Exception ex) when (ex is not (ObjectDisposedException or SocketException))
            {
                // SendPacketsAsync opens the file's path before it sends a byte. Where that fails (no /proc, no descriptor
                // left), the rest goes from the mapping instead: the kernel copies it, the bytes are the same.
                _sendingFileFromMemory = true;
                pending = SendPackets(RemainingPackets(item, itemSent, fromFile: false));
            }
        }
        catch (Exception ex)
        {
            // Whatever stopped the send, the flush ends here and the connection is aborted, never left half-sent.
            return new ValueTask<FlushResult>(FinishSend(SocketError.OperationAborted, ex));
        }

        return pending
            ? new ValueTask<FlushResult>(this, _flushSource.Version)
            : new ValueTask<FlushResult>(FinishSend(_sendArgs.SocketError, null));
    }

    /// <summary>
    /// Sends the items of the flush in order (segment, ..., the file region, ..., segment), from <paramref name="item"/>
    /// less the <paramref name="itemSent"/> bytes of it already sent, until done or the socket would block; the two then
    /// say where the rest starts.
    /// </summary>
    private unsafe SocketError SendNow(ref int item, ref int itemSent)
    {
        var socket = _socket.SafeHandle;
        var file = _sendingFile.Body!.File;
        bool socketAdded = false, fileAdded = false;
        try
        {
            // The references keep both descriptors from being closed (and their numbers reused) during the calls.
            socket.DangerousAddRef(ref socketAdded);
            file.DangerousAddRef(ref fileAdded);
            var fd = (int)socket.DangerousGetHandle();
            if (!_nonBlocking && !(_nonBlocking = (Libc.Fcntl(fd, Libc.F_GETFL) & Libc.O_NONBLOCK) != 0))
            {
                // A blocking sendfile would hold this thread until the viewer read: all of it goes asynchronously.
                return SocketError.WouldBlock;
            }

            var items = _sending.Count + 1;
            for (; item < items; item++, itemSent = 0)
            {
                if (item == _sendingFile.Index)
                {
                    long offset = _sendingFile.Offset + itemSent;
                    long end = _sendingFile.Offset + _sendingFile.Count;
                    while (offset < end)
                    {
                        // sendfile moves offset past what it sent. The last call pushes out any headers held by MSG_MORE.
                        var sent = Libc.SendFile(fd, (int)file.DangerousGetHandle(), ref offset, (nuint)(end - offset));
                        itemSent = (int)(offset - _sendingFile.Offset);
                        if (sent <= 0 && ErrorOrRetry(sent, out var error))
                        {
                            return error;
                        }
                    }

                    continue;
                }

                var segment = _sending[item < _sendingFile.Index ? item : item - 1];
                // MSG_MORE: the headers wait for the body instead of leaving in a packet of their own.
                var flags = Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL | (item < items - 1 ? Libc.MSG_MORE : 0);
                while (itemSent < segment.Count)
                {
                    nint sent;
                    fixed (byte* bytes = &segment.Array![segment.Offset + itemSent])
                    {
                        sent = Libc.Send(fd, bytes, (nuint)(segment.Count - itemSent), flags);
                    }

                    if (sent > 0)
                    {
                        itemSent += (int)sent;
                    }
                    else if (ErrorOrRetry(sent, out var error))
                    {
                        return error;
                    }
                }
            }

            return SocketError.Success;
        }
        catch (ObjectDisposedException)
        {
            return SocketError.OperationAborted;
        }
        finally
        {
            if (fileAdded)
            {
                file.DangerousRelease();
            }

            if (socketAdded)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>After a call that sent nothing: false to call again (interrupted), else true and what to report.</summary>
    private static bool ErrorOrRetry(nint result, out SocketError error)
    {
        var errno = result == 0 ? 0 : Marshal.GetLastPInvokeError();
        error = errno switch
        {
            Libc.EINTR => SocketError.Success,
            Libc.EAGAIN => SocketError.WouldBlock,
            Libc.EPIPE => SocketError.Shutdown,
            Libc.ECONNRESET => SocketError.ConnectionReset,
            // sendfile at the end of its file, which a region never reaches: the body is not what was queued.
            0 => SocketError.NoData,
            _ => SocketError.SocketError,
        };
        return errno != Libc.EINTR;
    }

    private bool SendPackets(SendPacketsElement[] packets)
    {
        _sendArgs.SendPacketsElements = packets;
        return _socket.SendPacketsAsync(_sendArgs);
    }

    /// <summary>
    /// The flush's items from <paramref name="item"/> on, less the <paramref name="itemSent"/> bytes of it already sent;
    /// the file region by its path (<paramref name="fromFile"/>, sent with <c>sendfile</c>) or as the mapped memory.
    /// </summary>
    private SendPacketsElement[] RemainingPackets(int item, int itemSent, bool fromFile)
    {
        var items = _sending.Count + 1;
        var packets = new List<SendPacketsElement>(items - item);
        for (var i = item; i < items; i++, itemSent = 0)
        {
            var last = i == items - 1;
            if (i == _sendingFile.Index)
            {
                // A count of 0 would mean "to the end of the file": a region sent whole is left out instead.
                if (itemSent < _sendingFile.Count)
                {
                    var (offset, count) = (_sendingFile.Offset + itemSent, _sendingFile.Count - itemSent);
                    packets.Add(fromFile
                        ? new SendPacketsElement(_sendingFile.Body!.FilePath, offset, count, last)
                        : new SendPacketsElement(_sendingFile.Body!.Memory.Slice(offset, count), last));
                }

                continue;
            }

            var segment = _sending[i < _sendingFile.Index ? i : i - 1];
            if (itemSent < segment.Count)
            {
                packets.Add(new SendPacketsElement(segment.Array!, segment.Offset + itemSent, segment.Count - itemSent, last));
            }
        }

        return [.. packets];
    }

    private void EnsureCapacity(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_current is not null && _currentLimit - _currentEnd >= needed)
        {
            return;
        }

        QueueCurrent();
        if (needed <= _pool.MaxBufferSize)
        {
            var block = _pool.Rent(needed);
            if (MemoryMarshal.TryGetArray<byte>(block.Memory, out var array))
            {
                _queuedBlocks.Add(block);
                _current = array.Array!;
                _currentStart = _currentEnd = array.Offset;
                _currentLimit = array.Offset + array.Count;
                return;
            }

            block.Dispose();
        }

        // Larger than a block (or a pool that is not array-backed): a one-off array, left to the GC.
        _current = GC.AllocateUninitializedArray<byte>(needed);
        _currentStart = _currentEnd = 0;
        _currentLimit = needed;
    }

    private void QueueCurrent()
    {
        if (_currentEnd > _currentStart)
        {
            _queued.Add(new ArraySegment<byte>(_current!, _currentStart, _currentEnd - _currentStart));
            _currentStart = _currentEnd;
        }
    }

    /// <summary>The current block now belongs to a send or is returned: the next write starts a new one.</summary>
    private void ForgetCurrent()
    {
        _current = null;
        _currentStart = _currentEnd = _currentLimit = 0;
    }

    private static void ReturnBlocks(List<IMemoryOwner<byte>> blocks)
    {
        foreach (var block in blocks)
        {
            block.Dispose();
        }

        blocks.Clear();
    }

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _flushSource.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _flushSource.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _flushSource.OnCompleted(continuation, state, token, flags);

    /// <summary>Bytes [Offset, Offset + Count) of a mapped body's file, to go after the first Index queued segments.</summary>
    private readonly record struct FileRegion(MappedBodyMemory? Body, int Offset, int Count, int Index);
}
