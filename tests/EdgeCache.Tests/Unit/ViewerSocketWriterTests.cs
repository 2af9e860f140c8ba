using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using EdgeCache.FastPath;
using Microsoft.AspNetCore.Connections;

namespace EdgeCache.Tests.Unit;

/// <summary>The writer on a real loopback socket pair: what is written and flushed is what the peer reads, in order.</summary>
public sealed class ViewerSocketWriterTests : IAsyncLifetime
{
    private readonly LargeBlockMemoryPool _pool = new(blockSize: 4096);
    private readonly List<ConnectionAbortedException> _aborts = [];
    private readonly Prometheus.Counter _fileResponses = Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()).CreateCounter("file_responses", "test");
    private Socket _server = null!;
    private Socket _peer = null!;
    private ViewerSocketWriter _writer = null!;

    public async Task InitializeAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await _peer.ConnectAsync(listener.LocalEndPoint!);
        _server = await listener.AcceptAsync();
        _writer = new ViewerSocketWriter(_server, _pool, _aborts.Add, _fileResponses);
    }

    public Task DisposeAsync()
    {
        _writer.Complete();
        _server.Dispose();
        _peer.Dispose();
        _pool.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Writes_across_blocks_and_flushes_arrive_in_order()
    {
        var first = RandomNumberGenerator.GetBytes(10_000); // spans three 4 KiB blocks
        var second = RandomNumberGenerator.GetBytes(5);
        var third = RandomNumberGenerator.GetBytes(20_000); // larger than a block: one unpooled array

        _writer.Write(first);
        Assert.Equal(first.Length, _writer.UnflushedBytes);
        await _writer.FlushAsync();
        Assert.Equal(0, _writer.UnflushedBytes);
        _writer.Write(second);
        var memory = _writer.GetMemory(third.Length);
        third.CopyTo(memory);
        _writer.Advance(third.Length);
        var result = await _writer.FlushAsync();

        Assert.False(result.IsCompleted);
        Assert.Equal(Concat(first, second, third), await ReadAsync(first.Length + second.Length + third.Length));
        Assert.True(_pool.RetainedBlocks >= 3, "the blocks behind sent bytes go back to the pool");
    }

    [Fact]
    public async Task A_stored_body_is_sent_after_the_bytes_before_it_and_the_marker_memory_never_is()
    {
        var headers = "HTTP/1.1 200 OK\r\nContent-Length: 50000\r\n\r\n"u8.ToArray();
        var stored = RandomNumberGenerator.GetBytes(50_000);
        var trailer = "next"u8.ToArray();

        _writer.Write(headers);
        // The writer stands in for Kestrel's body writer, which passes GetMemory and Advance through to it.
        Assert.True(_writer.TryQueueStoredBody(_writer, stored));
        _writer.Write(trailer);
        await _writer.FlushAsync();

        Assert.Equal(Concat(headers, stored, trailer), await ReadAsync(headers.Length + stored.Length + trailer.Length));
        Assert.Equal(0, _writer.UnflushedBytes);
    }

    [Fact]
    public async Task A_body_writer_that_does_not_reach_the_connection_gets_false_and_nothing_is_queued()
    {
        // A writer that buffers on its own (as Kestrel does behind a pending flush) never hands out the marker.
        var elsewhere = PipeWriter.Create(new MemoryStream());
        var stored = RandomNumberGenerator.GetBytes(20_000);

        Assert.False(_writer.TryQueueStoredBody(elsewhere, stored));

        _writer.Write("after"u8);
        await _writer.FlushAsync();
        Assert.Equal("after"u8.ToArray(), await ReadAsync(5));
        Assert.Equal(0, _writer.UnflushedBytes);
    }

    [Fact]
    public void An_advance_that_does_not_match_the_stored_body_fails_instead_of_sending_the_wrong_bytes()
    {
        var stored = RandomNumberGenerator.GetBytes(20_000);
        var ex = Assert.Throws<InvalidOperationException>(() => _writer.TryQueueStoredBody(new ShortAdvanceWriter(_writer), stored));
        Assert.Contains("advanced 100 bytes over a stored body of 20000", ex.Message);
        Assert.Equal(0, _writer.UnflushedBytes);
    }

    [Fact]
    public void Advancing_past_the_memory_handed_out_is_refused()
    {
        var memory = _writer.GetMemory(10);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => _writer.Advance(memory.Length + 1));
        Assert.Equal("bytes", ex.ParamName);
    }

    [Fact]
    public async Task A_cancelled_flush_reports_it_once_and_keeps_the_bytes()
    {
        _writer.Write("kept"u8);
        _writer.CancelPendingFlush();
        Assert.True((await _writer.FlushAsync()).IsCanceled);
        var result = await _writer.FlushAsync();
        Assert.False(result.IsCanceled);
        Assert.Equal("kept"u8.ToArray(), await ReadAsync(4));
    }

    [Fact]
    public async Task A_failed_send_aborts_the_connection_once_and_later_flushes_report_completion()
    {
        _peer.LingerState = new LingerOption(true, 0);
        _peer.Close(); // RST
        var big = new byte[256 * 1024];
        FlushResult result = default;
        for (var i = 0; i < 50 && !result.IsCompleted; i++)
        {
            // The first sends after a reset can still succeed; the kernel reports the reset on a later one.
            _writer.Write(big);
            result = await _writer.FlushAsync();
        }

        Assert.True(result.IsCompleted);
        var abort = Assert.Single(_aborts);
        Assert.Contains("sending to the viewer failed", abort.Message);

        _writer.Write(big);
        Assert.True((await _writer.FlushAsync()).IsCompleted);
        Assert.Single(_aborts);
        Assert.False(_writer.TryQueueStoredBody(_writer, big));
    }

    [Fact]
    public async Task Complete_returns_the_blocks_of_unsent_bytes_and_sends_nothing_more()
    {
        _writer.Write(new byte[6000]); // two blocks
        _writer.Complete();
        Assert.Equal(2, _pool.RetainedBlocks);
        Assert.True((await _writer.FlushAsync()).IsCompleted);

        _server.Shutdown(SocketShutdown.Send);
        var buffer = new byte[16];
        Assert.Equal(0, await _peer.ReceiveAsync(buffer)); // FIN, no bytes
    }

    [Fact]
    public async Task A_mapped_body_goes_by_sendfile_between_the_bytes_around_it_and_the_flush_completes_at_once()
    {
        _server.Blocking = false; // as Kestrel's sockets are once their first receive has started
        var headers = "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n"u8.ToArray();
        var (mapped, stored) = Mapped(200_000);
        var trailer = "next"u8.ToArray();

        _writer.Write(headers);
        Assert.True(_writer.TryQueueStoredBody(_writer, mapped.Memory));
        Assert.Equal(headers.Length + stored.Length, _writer.UnflushedBytes);
        _writer.Write(trailer);
        var flush = _writer.FlushAsync();

        // 200 kB fits in the loopback socket's buffer: sent whole from this thread, nothing left to wait for.
        Assert.True(flush.IsCompletedSuccessfully);
        Assert.Equal((1, 0), _writer.FileSends);
        Assert.Equal(1, _fileResponses.Value);
        Assert.Equal(Concat(headers, stored, trailer), await ReadAsync(headers.Length + stored.Length + trailer.Length));
        GC.KeepAlive(mapped);
    }

    [Fact]
    public async Task A_mapped_body_larger_than_the_socket_takes_waits_for_the_viewer_and_arrives_whole()
    {
        var (expected, flush) = FlushLargeMappedBody();

        Assert.False(flush.IsCompleted, "the viewer has not read: the rest waits for room");
        Assert.Equal((0, 1), _writer.FileSends);
        var received = ReadAsync(expected.Length);
        Assert.False((await flush).IsCompleted);
        Assert.Equal(expected, await received);
        Assert.Equal(1, _fileResponses.Value);

        // The connection goes on as before.
        _writer.Write("after"u8);
        await _writer.FlushAsync();
        Assert.Equal("after"u8.ToArray(), await ReadAsync(5));
        Assert.Empty(_aborts);
    }

    [Fact]
    public async Task When_the_file_cannot_be_opened_again_the_rest_goes_from_the_mapping_intact()
    {
        // As with no /proc, or no descriptor left to open it with.
        var (expected, flush) = FlushLargeMappedBody(mapped => mapped.FilePath = "/nonexistent/edgecache-test");
        Assert.Equal((0, 1), _writer.FileSends);

        Assert.Equal(expected, await ReadAsync(expected.Length));
        Assert.False((await flush).IsCompleted);
        Assert.Empty(_aborts);
        Assert.Equal(0, _fileResponses.Value); // part of it went from memory: not counted as sent with sendfile
    }

    [Fact]
    public async Task On_a_blocking_socket_a_mapped_body_never_blocks_the_flushing_thread()
    {
        Assert.True(_server.Blocking);
        var (mapped, stored) = Mapped(100_000);

        Assert.True(_writer.TryQueueStoredBody(_writer, mapped.Memory));
        var flush = _writer.FlushAsync();

        Assert.Equal((0, 1), _writer.FileSends);
        Assert.Equal(stored, await ReadAsync(stored.Length));
        Assert.False((await flush).IsCompleted);
    }

    [Fact]
    public async Task A_viewer_that_resets_during_a_waiting_mapped_body_aborts_the_connection_once()
    {
        var (_, flush) = FlushLargeMappedBody();
        Assert.False(flush.IsCompleted);

        _peer.LingerState = new LingerOption(true, 0); // close with RST
        _peer.Close();

        Assert.True((await flush).IsCompleted);
        Assert.Single(_aborts);
        Assert.True((await _writer.FlushAsync()).IsCompleted);
        Assert.Single(_aborts);
    }

    /// <summary>
    /// Headers and an 8 MiB mapped body, flushed on a non-blocking socket with 64 KiB buffers that the peer is not
    /// reading: far more than the socket takes, so the send goes on by SendPacketsAsync. Returns the bytes the peer
    /// should read and the pending flush.
    /// </summary>
    private (byte[] Expected, ValueTask<FlushResult> Flush) FlushLargeMappedBody(Action<MappedBodyMemory>? prepare = null)
    {
        _server.Blocking = false;
        _server.SendBufferSize = 64 * 1024;
        _peer.ReceiveBufferSize = 64 * 1024;
        var headers = "HTTP/1.1 200 OK\r\n\r\n"u8.ToArray();
        var (mapped, stored) = Mapped(8 * 1024 * 1024);
        prepare?.Invoke(mapped);

        _writer.Write(headers);
        Assert.True(_writer.TryQueueStoredBody(_writer, mapped.Memory));
        return (Concat(headers, stored), _writer.FlushAsync());
    }

    private static (MappedBodyMemory Mapped, byte[] Bytes) Mapped(int length)
    {
        var bytes = RandomNumberGenerator.GetBytes(length);
        var mapped = MappedBodyMemory.TryCreate(length)!;
        Assert.True(mapped.Write(bytes, 0));
        return (mapped, bytes);
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private async Task<byte[]> ReadAsync(int length)
    {
        var buffer = new byte[length];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (read < length)
        {
            var n = await _peer.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            Assert.NotEqual(0, n);
            read += n;
        }

        return buffer;
    }

    /// <summary>Passes GetMemory through but advances a different count, as a buggy body writer would.</summary>
    private sealed class ShortAdvanceWriter(PipeWriter inner) : PipeWriter
    {
        public override void Advance(int bytes) => inner.Advance(100);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
    }
}
