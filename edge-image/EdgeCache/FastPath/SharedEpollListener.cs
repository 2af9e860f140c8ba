using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EdgeCache.FastPath;

/// <summary>
/// A bound viewer endpoint of <see cref="SharedEpollTransportFactory"/>: accepts with the runtime's socket API (accepts
/// are few) and gives every accepted connection to the listener's <see cref="SharedEpoll"/>.
/// </summary>
internal sealed partial class SharedEpollListener : IConnectionListener
{
    private readonly Socket _listenSocket;
    private readonly SharedEpoll _poller;
    private readonly MemoryPool<byte> _pool;
    private readonly long _maxInputBuffer;
    private readonly ILogger _logger;

    public SharedEpollListener(IPEndPoint endpoint, int ioThreads, MemoryPool<byte> pool, long maxInputBuffer, ILogger logger)
    {
        _pool = pool;
        _maxInputBuffer = maxInputBuffer;
        _logger = logger;
        _listenSocket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
            {
                _listenSocket.DualMode = true;
            }

            _listenSocket.Bind(endpoint);
            // Kestrel's socket transport's default backlog.
            _listenSocket.Listen(512);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            _listenSocket.Dispose();
            throw new AddressInUseException(ex.Message, ex);
        }
        catch
        {
            _listenSocket.Dispose();
            throw;
        }

        EndPoint = _listenSocket.LocalEndPoint!;
        _poller = new SharedEpoll(ioThreads, "viewer", logger);
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listenSocket.AcceptAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return null;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return null;
            }
            catch (SocketException)
            {
                // A viewer that reset before its connection was accepted: the next one.
                continue;
            }

            try
            {
                socket.NoDelay = true;
                socket.Blocking = false;
                var connection = new SharedEpollConnection(socket, _poller, _pool, _maxInputBuffer, _logger);
                connection.Start();
                return connection;
            }
            catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
            {
                // This viewer is dropped; the listener goes on accepting (an exception here would stop Kestrel's accept loop).
                socket.Dispose();
                LogSetUpFailed(_logger, ex);
            }
        }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "An accepted viewer connection could not be set up and was closed")]
    private static partial void LogSetUpFailed(ILogger logger, Exception exception);

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _listenSocket.Dispose();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _listenSocket.Dispose();
        _poller.Dispose();
        _pool.Dispose();
        return ValueTask.CompletedTask;
    }
}
