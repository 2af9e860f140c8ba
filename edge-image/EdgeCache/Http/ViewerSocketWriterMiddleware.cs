using System.Buffers;
using EdgeCache.Observability;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.DependencyInjection;
using KestrelListenOptions = Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions;

namespace EdgeCache.Http;

/// <summary>
/// Kestrel connection middleware that gives each viewer connection a <see cref="ViewerSocketWriter"/> as its output and
/// as a connection feature, so that the hit path can send a stored body without copying it (listen.directBodySend).
/// </summary>
public static class ViewerSocketWriterMiddleware
{
    public static KestrelListenOptions UseViewerSocketWriter(this KestrelListenOptions listen)
    {
        listen.Use(next =>
        {
            var watchdog = listen.ApplicationServices.GetRequiredService<ViewerSendWatchdog>();
            var fileResponses = listen.ApplicationServices.GetRequiredService<EdgeCacheMetrics>().SendFileResponses;
            return connection => RunAsync(next, connection, watchdog, fileResponses);
        });
        return listen;
    }

    private static async Task RunAsync(ConnectionDelegate next, ConnectionContext connection, ViewerSendWatchdog watchdog, Prometheus.Counter fileResponses)
    {
        // Only Kestrel's socket transport exposes its socket; any other transport keeps its own output.
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        var pool = connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool ?? MemoryPool<byte>.Shared;
        var transport = connection.Transport;
        var readiness = connection.Features.Get<IViewerSocketReadiness>();
        var writer = new ViewerSocketWriter(socket, pool, connection.Abort, fileResponses, readiness) { ConnectionId = connection.ConnectionId };
        connection.Transport = new ViewerConnectionPipe(transport.Input, writer);
        connection.Features.Set(writer);
        watchdog.Add(writer);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            watchdog.Remove(writer);
            writer.Complete();
            connection.Features.Set<ViewerSocketWriter>(null);
            // The transport completes its own pipes when the connection is disposed, and then closes the socket.
            connection.Transport = transport;
        }
    }
}
