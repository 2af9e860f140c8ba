using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using EdgeCache.FastPath;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// The viewer transport on real loopback sockets: what a viewer sends reaches the connection's input in order, on an
/// I/O thread; FIN, reset and abort end a connection as Kestrel's socket transport does; and a thread busy with one
/// connection does not hold up the others.
/// </summary>
public sealed class SharedEpollTransportTests : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly List<Socket> _viewers = [];
    private readonly List<ConnectionContext> _connections = [];
    private SharedEpollListener? _listener;

    public async ValueTask DisposeAsync()
    {
        foreach (var viewer in _viewers)
        {
            viewer.Dispose();
        }

        foreach (var connection in _connections)
        {
            connection.Abort();
            await connection.DisposeAsync();
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }
    }

    [Fact]
    public async Task What_a_viewer_sends_reaches_the_input_in_order_on_an_io_thread()
    {
        var (viewer, connection) = await ConnectAsync();
        var input = connection.Transport.Input;
        // Nothing sent yet: the read completes when an I/O thread delivers, and its continuation runs on that thread.
        var first = input.ReadAsync().AsTask();
        var thread = first.ContinueWith(_ => Thread.CurrentThread.Name, TaskContinuationOptions.ExecuteSynchronously);

        var received = new List<byte>();
        var sent = RandomNumberGenerator.GetBytes(300_000);
        var sending = viewer.SendAsync(sent);
        var result = await first.WaitAsync(Patience);
        while (true)
        {
            received.AddRange(result.Buffer.ToArray());
            input.AdvanceTo(result.Buffer.End);
            if (received.Count >= sent.Length)
            {
                break;
            }

            result = await input.ReadAsync().AsTask().WaitAsync(Patience);
        }

        await sending;
        Assert.StartsWith("viewer I/O", await thread);
        Assert.Equal(sent, received.ToArray());
    }

    [Fact]
    public async Task A_viewer_FIN_completes_the_input_after_its_bytes_and_fires_connection_closed()
    {
        var (viewer, connection) = await ConnectAsync();
        await viewer.SendAsync("last words"u8.ToArray());
        viewer.Shutdown(SocketShutdown.Send);

        var bytes = await ReadToEndAsync(connection.Transport.Input);
        Assert.Equal("last words"u8.ToArray(), bytes);
        await WaitForAsync(connection.ConnectionClosed);
    }

    [Fact]
    public async Task A_viewer_reset_ends_the_input_with_a_connection_reset()
    {
        var (viewer, connection) = await ConnectAsync();
        viewer.LingerState = new LingerOption(true, 0);
        viewer.Close();

        await Assert.ThrowsAsync<ConnectionResetException>(() => ReadToEndAsync(connection.Transport.Input));
        await WaitForAsync(connection.ConnectionClosed);
    }

    [Fact]
    public async Task Abort_resets_the_viewer_and_ends_the_input_with_its_reason()
    {
        var (viewer, connection) = await ConnectAsync();
        connection.Abort(new ConnectionAbortedException("test abort"));

        var ex = await Assert.ThrowsAsync<ConnectionAbortedException>(() => ReadToEndAsync(connection.Transport.Input));
        Assert.Equal("test abort", ex.Message);
        await WaitForAsync(connection.ConnectionClosed);
        var error = await Assert.ThrowsAsync<SocketException>(async () => await viewer.ReceiveAsync(new byte[16]).WaitAsync(Patience));
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    [Fact]
    public async Task Output_written_to_the_transport_arrives_whole_and_disposing_closes_gracefully()
    {
        var (viewer, connection) = await ConnectAsync();
        var body = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);
        var reading = ReadAllAsync(viewer);

        await connection.Transport.Output.WriteAsync(body);
        await connection.Transport.Output.CompleteAsync();
        await connection.Transport.Input.CompleteAsync();
        await connection.DisposeAsync().AsTask().WaitAsync(Patience);
        _connections.Remove(connection);

        Assert.Equal(body, await reading); // and then FIN, which ends ReadAllAsync
    }

    [Fact]
    public async Task A_full_input_pauses_reading_and_resumes_without_losing_or_reordering_bytes()
    {
        const int Limit = 64 * 1024;
        var (viewer, connection) = await ConnectAsync(maxInputBuffer: Limit);
        var sent = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        var sending = Task.Run(async () =>
        {
            await viewer.SendAsync(sent);
            viewer.Shutdown(SocketShutdown.Send);
        });

        // Nothing reads: the input fills to its limit and the I/O thread stops reading this socket. What it holds then
        // is at most the limit plus the one block the last read went into; the rest waits in the kernel's buffers
        // (which on loopback can hold all 4 MiB, so whether the viewer's send finished says nothing).
        var input = connection.Transport.Input;
        await EndToEnd.CachingTests.Eventually(() => input.TryRead(out var peek) && Release(input, peek) >= Limit);

        await Task.Delay(200);
        Assert.True(input.TryRead(out var held));
        Assert.InRange(Release(input, held), Limit, Limit + LargeBlockMemoryPool.DefaultBlockSize);

        Assert.Equal(sent, await ReadToEndAsync(input));
        await sending.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_thread_held_by_one_connection_does_not_hold_up_the_others()
    {
        await using var gate = new GateAsync();
        var (blockerViewer, blocker) = await ConnectAsync(threads: 2);
        var others = new List<(Socket Viewer, ConnectionContext Connection)>();
        for (var i = 0; i < 6; i++)
        {
            others.Add(await ConnectAsync(threads: 2));
        }

        // The blocker's data is handed over on an I/O thread, which then waits on the gate: one of the two is held.
        var held = blocker.Transport.Input.ReadAsync().AsTask().ContinueWith(_ => gate.Wait(), TaskContinuationOptions.ExecuteSynchronously);
        await blockerViewer.SendAsync("hold"u8.ToArray());
        await gate.Entered.WaitAsync(Patience);

        // Every other connection is still served, whichever thread it would have belonged to.
        foreach (var (viewer, connection) in others)
        {
            var read = connection.Transport.Input.ReadAsync();
            await viewer.SendAsync("ping"u8.ToArray());
            var result = await read.AsTask().WaitAsync(Patience);
            Assert.Equal("ping"u8.ToArray(), result.Buffer.ToArray());
            connection.Transport.Input.AdvanceTo(result.Buffer.End);
        }

        gate.Release();
        await held.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_writer_on_the_poller_waits_for_a_slow_viewer_without_holding_an_io_thread()
    {
        var (viewer, connection) = await ConnectAsync(threads: 1);
        var (otherViewer, other) = await ConnectAsync(threads: 1);
        var socket = connection.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()!.Socket;
        socket.SendBufferSize = 64 * 1024;
        var aborts = new List<ConnectionAbortedException>();
        using var pool = new LargeBlockMemoryPool(blockSize: 4096);
        var writer = new ViewerSocketWriter(socket, pool, aborts.Add, readiness: connection.Features.Get<IViewerSocketReadiness>());

        // Headers, a stored body far larger than the socket takes, and a trailer: three segments, sent in parts.
        var headers = "HTTP/1.1 200 OK\r\n\r\n"u8.ToArray();
        var body = RandomNumberGenerator.GetBytes(6 * 1024 * 1024);
        writer.Write(headers);
        Assert.True(writer.TryQueueStoredBody(writer, body));
        writer.Write("end"u8);
        var flush = writer.FlushAsync();
        Assert.False(flush.IsCompleted, "the viewer has not read: the rest waits for room");

        // The only I/O thread is free meanwhile: another connection is served.
        var read = other.Transport.Input.ReadAsync();
        await otherViewer.SendAsync("ping"u8.ToArray());
        Assert.Equal("ping"u8.ToArray(), (await read.AsTask().WaitAsync(Patience)).Buffer.ToArray());

        var received = await ReadExactlyAsync(viewer, headers.Length + body.Length + 3);
        Assert.False((await flush.AsTask().WaitAsync(Patience)).IsCompleted);
        Assert.Equal([.. headers, .. body, .. "end"u8.ToArray()], received);
        Assert.Empty(aborts);
        writer.Complete();
    }

    [Fact]
    public async Task A_viewer_that_resets_while_a_send_waits_on_the_poller_aborts_the_connection_once()
    {
        var (viewer, connection) = await ConnectAsync();
        var socket = connection.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()!.Socket;
        socket.SendBufferSize = 64 * 1024;
        var aborts = new List<ConnectionAbortedException>();
        using var pool = new LargeBlockMemoryPool(blockSize: 4096);
        var writer = new ViewerSocketWriter(socket, pool, e => { lock (aborts) { aborts.Add(e); } connection.Abort(e); }, readiness: connection.Features.Get<IViewerSocketReadiness>());

        writer.Write(new byte[8 * 1024 * 1024]);
        var flush = writer.FlushAsync();
        Assert.False(flush.IsCompleted);
        viewer.LingerState = new LingerOption(true, 0);
        viewer.Close();

        Assert.True((await flush.AsTask().WaitAsync(Patience)).IsCompleted);
        Assert.Single(aborts);
        writer.Write("more"u8);
        Assert.True((await writer.FlushAsync()).IsCompleted);
        Assert.Single(aborts);
        writer.Complete();
    }

    private async Task<(Socket Viewer, ConnectionContext Connection)> ConnectAsync(int threads = 2, long maxInputBuffer = 1024 * 1024)
    {
        _listener ??= new SharedEpollListener(new IPEndPoint(IPAddress.Loopback, 0), threads, new LargeBlockMemoryPool(), maxInputBuffer, NullLogger.Instance);
        var viewer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _viewers.Add(viewer);
        await viewer.ConnectAsync(_listener.EndPoint);
        var connection = (await _listener.AcceptAsync().AsTask().WaitAsync(Patience))!;
        _connections.Add(connection);
        return (viewer, connection);
    }

    /// <summary>Gives back what a TryRead saw, neither consumed nor examined, and says how much it was.</summary>
    private static long Release(PipeReader input, ReadResult result)
    {
        var length = result.Buffer.Length;
        input.AdvanceTo(result.Buffer.Start);
        return length;
    }

    private static async Task<byte[]> ReadToEndAsync(PipeReader input)
    {
        var bytes = new List<byte>();
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Patience);
            bytes.AddRange(result.Buffer.ToArray());
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return [.. bytes];
            }
        }
    }

    private static async Task<byte[]> ReadAllAsync(Socket viewer)
    {
        var bytes = new MemoryStream();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(Patience);
        int n;
        while ((n = await viewer.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
        {
            bytes.Write(buffer, 0, n);
        }

        return bytes.ToArray();
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket viewer, int length)
    {
        var buffer = new byte[length];
        var read = 0;
        using var timeout = new CancellationTokenSource(Patience);
        while (read < length)
        {
            var n = await viewer.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, n);
            read += n;
        }

        return buffer;
    }

    private static Task WaitForAsync(CancellationToken token)
    {
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        token.Register(() => fired.TrySetResult());
        return fired.Task.WaitAsync(Patience);
    }

    /// <summary>Holds the thread that calls <see cref="Wait"/> until <see cref="Release"/>; says when one is held.</summary>
    private sealed class GateAsync : IAsyncDisposable
    {
        private readonly ManualResetEventSlim _open = new();
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public void Wait()
        {
            _entered.TrySetResult();
            _open.Wait(Patience);
        }

        public void Release() => _open.Set();

        public ValueTask DisposeAsync()
        {
            _open.Set();
            return ValueTask.CompletedTask;
        }
    }
}
