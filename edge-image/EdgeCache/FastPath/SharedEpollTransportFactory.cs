using System.Buffers;
using System.Net;
using EdgeCache.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeCache.FastPath;

/// <summary>
/// Kestrel transport for the viewer port (listen.sharedIo, Linux): the node's viewer connections share one epoll set
/// and a few I/O threads (<see cref="SharedEpoll"/>). Every other endpoint (the admin port) stays on Kestrel's socket
/// transport: Kestrel asks each registered factory, last registered first, whether it binds an endpoint.
/// </summary>
public sealed class SharedEpollTransportFactory(
    IOptions<EdgeCacheOptions> options,
    IOptions<KestrelServerOptions> kestrel,
    IMemoryPoolFactory<byte> pools,
    ILoggerFactory loggers) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly Configuration.ListenOptions _listen = options.Value.Listen;

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint ip && ip.Port == _listen.ViewerPort;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"the shared-epoll transport binds IP endpoints only, not {endpoint}");
        }

        var threads = _listen.IoThreads > 0 ? _listen.IoThreads : Environment.ProcessorCount;
        var maxInput = kestrel.Value.Limits.MaxRequestBufferSize ?? 0;
        var pool = pools.Create();
        return new ValueTask<IConnectionListener>(
            new SharedEpollListener(ip, threads, pool, maxInput, loggers.CreateLogger("EdgeCache.FastPath.SharedEpoll")));
    }
}
