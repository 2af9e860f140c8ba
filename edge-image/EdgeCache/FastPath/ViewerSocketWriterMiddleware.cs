using System.Buffers;
using System.Net.Sockets;
using EdgeCache.Observability;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.DependencyInjection;
using KestrelListenOptions = Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions;

namespace EdgeCache.FastPath;

/// <summary>
/// Kestrel connection middleware that gives each viewer connection a <see cref="ViewerSocketWriter"/> as its output and
/// as a connection feature, so that the hit path can send a stored body without copying it (listen.directBodySend).
/// </summary>
public static class ViewerSocketWriterMiddleware
{
    /// <param name="listen">The viewer endpoint.</param>
    /// <param name="notSentLowWaterBytes">listen.notSentLowWaterBytes: <c>TCP_NOTSENT_LOWAT</c> for each viewer socket; 0 leaves the kernel's default.</param>
    public static KestrelListenOptions UseViewerSocketWriter(this KestrelListenOptions listen, int notSentLowWaterBytes = 0)
    {
        listen.Use(next =>
        {
            var watchdog = listen.ApplicationServices.GetRequiredService<ViewerSendWatchdog>();
            var fileResponses = listen.ApplicationServices.GetRequiredService<EdgeCacheMetrics>().SendFileResponses;
            return connection => RunAsync(next, connection, watchdog, fileResponses, notSentLowWaterBytes);
        });
        return listen;
    }

    private static async Task RunAsync(ConnectionDelegate next, ConnectionContext connection, ViewerSendWatchdog watchdog, Prometheus.Counter fileResponses, int notSentLowWaterBytes)
    {
        // Only Kestrel's socket transport exposes its socket; any other keeps its own output.
        if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        if (notSentLowWaterBytes > 0 && OperatingSystem.IsLinux())
        {
            SetNotSentLowWater(socket, notSentLowWaterBytes);
        }

        var pool = connection.Features.Get<IMemoryPoolFeature>()?.MemoryPool ?? MemoryPool<byte>.Shared;
        var transport = connection.Transport;
        var writer = new ViewerSocketWriter(socket, pool, connection.Abort, fileResponses) { ConnectionId = connection.ConnectionId };
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

    private static void SetNotSentLowWater(Socket socket, int bytes)
    {
        Span<byte> value = stackalloc byte[sizeof(int)];
        BitConverter.TryWriteBytes(value, bytes);
        try
        {
            socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, Libc.TCP_NOTSENT_LOWAT, value);
        }
        catch (SocketException)
        {
            // Only a kernel older than 3.12 lacks it; the connection is served as without the setting.
        }
    }
}
