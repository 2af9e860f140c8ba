using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace EdgeCache.FastPath;

/// <summary>
/// One epoll set for all of a listener's viewer connections, and the I/O threads that wait on it together. The kernel
/// hands each readiness event to one waiting thread, so whichever thread is free serves whichever connection is ready:
/// a thread that has to wait for a CPU holds up only the connection it is serving, not every connection it owns.
/// </summary>
/// <remarks>
/// Why not the runtime's socket engine: each of its epoll threads owns the connections registered with it. With
/// inline I/O (docs/decisions/0011-inline-io.md) that made a thread's wait for a CPU every one of its connections' wait
/// (the 1 KiB tail, docs/decisions/0012-viewer-transport.md); without inline I/O every event is handed to the thread
/// pool, which costs a context switch per request.
/// This is the design of Tokio's and Go's pollers: readiness shared, no hand-off.
/// </remarks>
internal sealed partial class SharedEpoll : IDisposable
{
    // The wake-up eventfd's id in the set; connections are numbered from 1.
    private const ulong StopId = 0;

    // Events taken per epoll_wait: one, so that a thread preempted while it serves a request holds up that connection
    // only, never others it had already taken. Measured edge alone (1 KiB hits, ten runs each way): 1 KiB p99 median
    // ~1.4 ms with 1 against ~3.0 ms with 4, for ~8 % more CPU per hit (one epoll_wait per event).
    private const int MaxEvents = 1;

    private readonly ConcurrentDictionary<ulong, SharedEpollConnection> _connections = new();
    private readonly Thread[] _threads;
    private readonly ILogger _logger;
    private readonly int _epoll;
    private readonly int _stop;
    private long _nextId;
    private int _disposed;

    public SharedEpoll(int threadCount, string name, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        _logger = logger;
        _epoll = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new IOException($"epoll_create1 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _stop = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_stop < 0 || Add(_stop, StopId, Libc.EPOLLIN) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Libc.Close(_epoll);
            throw new IOException($"eventfd for the I/O threads failed: errno {errno}");
        }

        _threads = new Thread[threadCount];
        for (var i = 0; i < threadCount; i++)
        {
            _threads[i] = new Thread(Run) { IsBackground = true, Name = $"{name} I/O {i}" };
            _threads[i].UnsafeStart();
        }
    }

    /// <summary>
    /// Adds a connection's socket, which stays in the set until the socket is closed. Edge-triggered: an event at each
    /// arrival of data, FIN or error, and when room frees up in a send buffer that was full (the kernel signals that only
    /// after a send found it full). Data already waiting raises the first event at once.
    /// </summary>
    public void Register(SharedEpollConnection connection, int fd)
    {
        var id = (ulong)Interlocked.Increment(ref _nextId);
        connection.PollId = id;
        _connections[id] = connection;
        if (Add(fd, id, Libc.EPOLLIN | Libc.EPOLLOUT | Libc.EPOLLRDHUP | Libc.EPOLLET) != 0)
        {
            _connections.TryRemove(id, out _);
            throw new IOException($"epoll_ctl(ADD) of a viewer socket failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Forgets a connection whose socket is closed; an event already taken for it finds nothing.</summary>
    public void Unregister(SharedEpollConnection connection) => _connections.TryRemove(connection.PollId, out _);

    private unsafe int Add(int fd, ulong id, uint events)
    {
        var epollEvent = stackalloc byte[16];
        *(uint*)epollEvent = events;
        *(ulong*)(epollEvent + Libc.EpollDataOffset) = id;
        return Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, fd, epollEvent);
    }

    private unsafe void Run()
    {
        var size = Libc.EpollEventSize;
        var dataOffset = Libc.EpollDataOffset;
        var events = stackalloc byte[MaxEvents * 16];
        while (true)
        {
            var count = Libc.EpollWait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.EINTR)
                {
                    continue;
                }

                if (Volatile.Read(ref _disposed) == 0)
                {
                    LogWaitFailed(_logger, errno);
                }

                return;
            }

            for (var i = 0; i < count; i++)
            {
                var mask = *(uint*)(events + i * size);
                var id = *(ulong*)(events + i * size + dataOffset);
                if (id == StopId)
                {
                    // Level-triggered and never read: every thread sees it and leaves.
                    return;
                }

                if (_connections.TryGetValue(id, out var connection))
                {
                    try
                    {
                        connection.OnEvents(mask);
                    }
                    catch (Exception ex)
                    {
                        // A connection's failure is its own; the thread goes on serving the others.
                        LogConnectionFailed(_logger, connection.ConnectionId, ex);
                        connection.Abort(new Microsoft.AspNetCore.Connections.ConnectionAbortedException("the I/O thread failed serving this connection", ex));
                    }
                }
            }
        }
    }

    /// <summary>Stops the I/O threads (waiting for them) and closes the set. Connections are closed by their owners first.</summary>
    public unsafe void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        ulong one = 1;
        Libc.Write(_stop, (byte*)&one, sizeof(ulong));
        foreach (var thread in _threads)
        {
            // Bounded: a thread still inside a connection's processing (which should not block) is background and left.
            if (thread != Thread.CurrentThread)
            {
                thread.Join(TimeSpan.FromSeconds(5));
            }
        }

        Libc.Close(_stop);
        Libc.Close(_epoll);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "epoll_wait failed (errno {Errno}); this I/O thread stops")]
    private static partial void LogWaitFailed(ILogger logger, int errno);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Connection {ConnectionId}: serving a read on the I/O thread failed")]
    private static partial void LogConnectionFailed(ILogger logger, string connectionId, Exception exception);
}
