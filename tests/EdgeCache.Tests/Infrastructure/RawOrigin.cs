using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A hostile or faulty origin on a loopback socket: it parses each request (recorded in <see cref="Requests"/>) and
/// answers with exactly the bytes <see cref="Handler"/> writes, with no HTTP library in between, so a test can send
/// what no well-behaved server would: bad framing, odd status codes, control bytes in headers, a corrupt chunk, an
/// early close. Several requests are served on one connection until the handler closes it or the node does.
/// Point a node at it with an http origin whose url is <see cref="Url"/>.
/// </summary>
public sealed class RawOrigin : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly Task _accepting;
    private int _connectionCount;

    private RawOrigin(TcpListener listener, Func<RawOriginRequest, RawOriginConnection, Task> handler)
    {
        _listener = listener;
        Handler = handler;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Answers one request by writing raw bytes; may close the connection. Replaceable between requests.</summary>
    public Func<RawOriginRequest, RawOriginConnection, Task> Handler { get; set; }

    public ConcurrentQueue<RawOriginRequest> Requests { get; } = new();

    /// <summary>Connections accepted so far (keep-alive reuse shows as fewer connections than requests).</summary>
    public int Connections => Volatile.Read(ref _connectionCount);

    public int Count(string target) => Requests.Count(r => r.Target == target);

    public static RawOrigin Start(Func<RawOriginRequest, RawOriginConnection, Task> handler)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return new RawOrigin(listener, handler);
    }

    /// <summary>An origin that answers every request with <paramref name="response"/>, written as is (Latin-1: one char, one byte).</summary>
    public static RawOrigin Start(string response) => Start((_, connection) => connection.WriteAsync(response));

    /// <summary>
    /// A complete response: the status line, <paramref name="headers"/> (each "Name: value", Latin-1), a Content-Length
    /// unless the headers carry framing of their own, and <paramref name="body"/>.
    /// </summary>
    public static string Response(int status, string body, params string[] headers)
    {
        var sb = new StringBuilder().Append("HTTP/1.1 ").Append(status).Append(" X\r\n");
        foreach (var header in headers)
        {
            sb.Append(header).Append("\r\n");
        }

        if (!headers.Any(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase) || h.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase)))
        {
            sb.Append("Content-Length: ").Append(Encoding.Latin1.GetByteCount(body)).Append("\r\n");
        }

        return sb.Append("\r\n").Append(body).ToString();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _connectionCount);
            var serving = ServeAsync(socket);
            _connections.TryAdd(serving, true);
            _ = serving.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        var connection = new RawOriginConnection(socket);
        var reader = new RequestReader(socket);
        try
        {
            while (!connection.Closed && !_stop.IsCancellationRequested)
            {
                var request = await reader.ReadAsync(_stop.Token);
                if (request is null)
                {
                    return;
                }

                Requests.Enqueue(request);
                await Handler(request, connection);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The node went away mid-exchange, or the test ended: nothing to answer.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_connections.Keys);
        _stop.Dispose();
    }

    /// <summary>Reads requests off one connection, keeping what it read ahead for the next one.</summary>
    private sealed class RequestReader(Socket socket)
    {
        private readonly List<byte> _buffered = [];

        public async Task<RawOriginRequest?> ReadAsync(CancellationToken cancellationToken)
        {
            int end;
            while ((end = IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (!await FillAsync(cancellationToken))
                {
                    return null;
                }
            }

            var head = Encoding.Latin1.GetString([.. _buffered.GetRange(0, end)]);
            _buffered.RemoveRange(0, end + 4);
            var lines = head.Split("\r\n");
            var requestLine = lines[0].Split(' ');
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
            }

            var request = new RawOriginRequest(requestLine[0], requestLine[1], headers, []);
            byte[] body;
            if (request.Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
            {
                body = await ReadChunkedAsync(cancellationToken);
            }
            else
            {
                var length = int.Parse(request.Header("Content-Length") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
                body = await TakeAsync(length, cancellationToken);
            }

            return request with { Body = body };
        }

        private async Task<byte[]> ReadChunkedAsync(CancellationToken cancellationToken)
        {
            var body = new List<byte>();
            while (true)
            {
                var sizeLine = await ReadLineAsync(cancellationToken);
                var size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
                if (size == 0)
                {
                    // Trailers, if any, up to the empty line.
                    while ((await ReadLineAsync(cancellationToken)).Length > 0)
                    {
                    }

                    return [.. body];
                }

                body.AddRange(await TakeAsync(size, cancellationToken));
                await ReadLineAsync(cancellationToken);
            }
        }

        private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            int end;
            while ((end = IndexOf("\r\n"u8)) < 0)
            {
                if (!await FillAsync(cancellationToken))
                {
                    throw new IOException("connection closed mid-request");
                }
            }

            var line = Encoding.Latin1.GetString([.. _buffered.GetRange(0, end)]);
            _buffered.RemoveRange(0, end + 2);
            return line;
        }

        private async Task<byte[]> TakeAsync(int length, CancellationToken cancellationToken)
        {
            while (_buffered.Count < length)
            {
                if (!await FillAsync(cancellationToken))
                {
                    throw new IOException("connection closed mid-request");
                }
            }

            var taken = _buffered.GetRange(0, length).ToArray();
            _buffered.RemoveRange(0, length);
            return taken;
        }

        private async Task<bool> FillAsync(CancellationToken cancellationToken)
        {
            var chunk = new byte[16 * 1024];
            var read = await socket.ReceiveAsync(chunk, SocketFlags.None, cancellationToken);
            _buffered.AddRange(chunk.AsSpan(0, read));
            return read > 0;
        }

        private int IndexOf(ReadOnlySpan<byte> value) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_buffered).IndexOf(value);
    }
}
