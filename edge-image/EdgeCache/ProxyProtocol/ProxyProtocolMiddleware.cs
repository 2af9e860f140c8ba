using System.IO.Pipelines;
using EdgeCache.Observability;
using Microsoft.AspNetCore.Connections;
using KestrelListenOptions = Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions;

namespace EdgeCache.ProxyProtocol;

/// <summary>
/// Kestrel connection middleware for listen.proxyProtocol: reads the PROXY v2 header the load balancer puts before the
/// viewer's bytes, consumes exactly it, and gives the connection the viewer's address, so that the access log and
/// <c>HttpContext.Connection.RemoteIpAddress</c> show the viewer rather than the load balancer. A connection without a
/// whole, valid header within <see cref="HeaderTimeout"/> is closed before any of its bytes reach HTTP.
/// </summary>
/// <remarks>
/// Runs first on its endpoint. Only the input is touched, and only before HTTP starts: what follows the header stays in
/// the transport's input pipe for Kestrel, and the output (the node's direct socket writer included) is the transport's
/// own. The local endpoint is left as the socket's, so routing by local port (the admin and redirect ports) holds.
/// </remarks>
public static partial class ProxyProtocolMiddleware
{
    /// <summary>
    /// How long a connection may take to deliver its header. A load balancer sends it at once with the connection's
    /// first bytes; this bounds what a client that sends part of one and stalls can hold.
    /// </summary>
    public static readonly TimeSpan HeaderTimeout = TimeSpan.FromSeconds(5);

    public static KestrelListenOptions UseProxyProtocol(this KestrelListenOptions listen)
    {
        listen.Use(next =>
        {
            var services = listen.ApplicationServices;
            var time = services.GetRequiredService<TimeProvider>();
            var rejected = services.GetRequiredService<EdgeCacheMetrics>().ProxyProtocolRejected;
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProxyProtocolMiddleware).FullName!);
            return connection => RunAsync(next, connection, time, rejected, logger);
        });
        return listen;
    }

    private static async Task RunAsync(ConnectionDelegate next, ConnectionContext connection, TimeProvider time, Prometheus.Counter rejected, ILogger logger)
    {
        var error = await ReadHeaderAsync(connection, time).ConfigureAwait(false);
        if (error is not null)
        {
            rejected.WithLabels(error).Inc();
            LogRejected(logger, connection.ConnectionId, connection.RemoteEndPoint?.ToString(), error);
            connection.Abort(new ConnectionAbortedException($"PROXY protocol header: {error}"));
            return;
        }

        await next(connection).ConfigureAwait(false);
    }

    /// <summary>Consumes the header and applies it; returns why the connection must close, or null.</summary>
    private static async Task<string?> ReadHeaderAsync(ConnectionContext connection, TimeProvider time)
    {
        var input = connection.Transport.Input;
        using var timeout = new CancellationTokenSource(HeaderTimeout, time);
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return "timeout";
            }

            var buffer = read.Buffer;
            var parsed = ProxyProtocolV2Parser.Parse(buffer);
            switch (parsed.Status)
            {
                case ProxyProtocolParseStatus.Complete:
                    // Consumed and examined up to the header's end only: Kestrel's first read gets the rest at once.
                    input.AdvanceTo(buffer.GetPosition(parsed.Length));
                    if (parsed.Header!.Source is { } viewer)
                    {
                        connection.RemoteEndPoint = viewer;
                    }

                    return null;
                case ProxyProtocolParseStatus.Invalid:
                    input.AdvanceTo(buffer.End);
                    return parsed.Error;
                default:
                    input.AdvanceTo(buffer.Start, buffer.End);
                    if (read.IsCompleted || read.IsCanceled)
                    {
                        // Section 2.2: a partial header is rejected.
                        return buffer.IsEmpty ? "empty" : "truncated";
                    }

                    break;
            }
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Debug, Message = "Connection {ConnectionId} from {Peer} closed: no valid PROXY protocol v2 header ({Reason})")]
    private static partial void LogRejected(ILogger logger, string connectionId, string? peer, string reason);
}
