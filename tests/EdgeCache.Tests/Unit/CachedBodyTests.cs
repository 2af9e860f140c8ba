using EdgeCache.Caching;

namespace EdgeCache.Tests.Unit;

/// <summary>The append-only body that one writer fills and many readers stream.</summary>
public sealed class CachedBodyTests
{
    [Fact]
    public async Task Readers_that_start_at_different_times_all_get_every_byte()
    {
        var data = new byte[300_000];
        new Random(1).NextBytes(data);
        var body = new CachedBody();
        var early = Read(body);
        body.Write(data.AsSpan(0, 100_000));
        var late = Read(body);
        body.Write(data.AsSpan(100_000));
        body.Complete();
        Assert.Equal(data, await early);
        Assert.Equal(data, await late);
        Assert.Equal(data, body.ToArray());
    }

    [Fact]
    public async Task Readers_waiting_at_the_end_are_woken_by_every_write_and_by_completion()
    {
        // The writer signals only readers that asked to wait, and each signal is made afresh: a reader that has caught up
        // must be woken by the next write, not only by the end. The writer goes on only once every reader has what it
        // wrote, so a write that wakes no one stops this test.
        var data = new byte[16 * 1024];
        new Random(2).NextBytes(data);
        var body = new CachedBody();
        var received = new long[4];
        var copies = new List<byte>[4];
        var readers = new Task[4];
        for (var r = 0; r < readers.Length; r++)
        {
            var index = r;
            copies[index] = [];
            readers[index] = Task.Run(() => body.CopyToAsync((chunk, _) =>
            {
                copies[index].AddRange(chunk.ToArray());
                Interlocked.Add(ref received[index], chunk.Length);
                return ValueTask.CompletedTask;
            }, 0, long.MaxValue, CancellationToken.None).AsTask());
        }

        var completion = body.WaitForCompletionAsync(CancellationToken.None);
        for (var offset = 0; offset < data.Length; offset += 512)
        {
            body.Write(data.AsSpan(offset, 512));
            var written = offset + 512;
            await EndToEnd.CachingTests.Eventually(() => Enumerable.Range(0, received.Length).All(i => Volatile.Read(ref received[i]) >= written));
        }

        Assert.False(completion.IsCompleted);
        body.Complete();
        Assert.True(await completion.WaitAsync(TimeSpan.FromSeconds(10)));
        await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(copies, copy => Assert.Equal(data, copy.ToArray()));
    }

    [Fact]
    public async Task A_body_longer_than_its_stated_length_keeps_every_byte()
    {
        // One segment is kept for a known length; an origin that sends more than it declared still loses nothing.
        var data = Enumerable.Range(0, 2500).Select(i => (byte)i).ToArray();
        var body = new CachedBody(1000);
        var reader = Read(body);
        body.Write(data);
        body.Complete();
        Assert.Equal(data, await reader);
        Assert.Equal(data, body.ToArray());
        Assert.False(body.TryGetSingleSegment(out _));
    }

    [Fact]
    public async Task A_reader_waiting_at_the_end_gets_an_incomplete_body_error_when_the_writer_fails()
    {
        var body = new CachedBody(1000);
        body.Write(new byte[400]);
        var reader = Read(body);
        body.Fail(new IOException("origin reset"));
        var error = await Assert.ThrowsAsync<IncompleteBodyException>(() => reader);
        Assert.IsType<IOException>(error.InnerException);
    }

    [Fact]
    public async Task A_reader_that_never_reads_does_not_hold_up_the_writer()
    {
        var body = new CachedBody();
        using var stalled = new CancellationTokenSource();
        var gate = new TaskCompletionSource();
        var slowReader = body.CopyToAsync(async (_, _) => await gate.Task, 0, long.MaxValue, stalled.Token).AsTask();
        for (var i = 0; i < 100; i++)
        {
            body.Write(new byte[10_000]);
        }

        body.Complete();
        Assert.Equal(1_000_000, body.Length);
        Assert.True(body.IsCompleted);
        gate.SetResult();
        await slowReader;
    }

    [Fact]
    public async Task Ranges_can_be_read_before_the_rest_has_arrived()
    {
        var body = new CachedBody(100);
        body.Write(Enumerable.Range(0, 50).Select(i => (byte)i).ToArray());
        var chunks = new List<byte>();
        await body.CopyToAsync((m, _) => { chunks.AddRange(m.ToArray()); return ValueTask.CompletedTask; }, 10, 20, CancellationToken.None);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => (byte)i), chunks);
        Assert.False(body.IsCompleted);
    }

    [Fact]
    public void A_known_length_uses_one_segment_so_a_hit_is_one_write()
    {
        var body = CachedBody.FromBytes(new byte[5000]);
        Assert.True(body.TryGetSingleSegment(out var whole));
        Assert.Equal(5000, whole.Length);
        Assert.Equal(5000, body.AllocatedBytes);
    }

    [Fact]
    public async Task A_body_moved_to_a_file_mid_stream_lets_go_of_its_memory_and_every_reader_still_gets_every_byte()
    {
        var data = new byte[1_000_000];
        new Random(3).NextBytes(data);
        var body = new CachedBody();
        body.Write(data.AsSpan(0, 300_000));

        // One reader is part-way through the in-memory segments, paused inside a write, when the body moves.
        var paused = new TaskCompletionSource();
        var resume = new TaskCompletionSource();
        var midway = new MemoryStream();
        var midwayReader = body.CopyToAsync(
            async (m, ct) =>
            {
                await midway.WriteAsync(m, ct);
                if (midway.Length >= 100_000 && !paused.Task.IsCompleted)
                {
                    paused.SetResult();
                    await resume.Task;
                }
            },
            0,
            long.MaxValue,
            CancellationToken.None).AsTask();
        await paused.Task;
        var waitingAtEnd = Read(body);

        var path = Path.Combine(Path.GetTempPath(), $"edgecache-test-{Guid.NewGuid():N}");
        using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, FileOptions.DeleteOnClose);
        body.SpillToFile(file);
        Assert.True(body.IsFileBacked);
        Assert.Equal(0, body.AllocatedBytes);

        body.Write(data.AsSpan(300_000, 400_000));
        var late = Read(body);
        body.Write(data.AsSpan(700_000));
        body.Complete();
        resume.SetResult();
        await midwayReader;

        Assert.Equal(data, midway.ToArray());
        Assert.Equal(data, await waitingAtEnd);
        Assert.Equal(data, await late);
        Assert.Equal(data, body.ToArray());
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), body.FileSha256());
        Assert.Equal(data.Length, RandomAccess.GetLength(file));
    }

    [Fact]
    public async Task Trimming_gives_back_unused_segments_and_tails_without_disturbing_a_reader()
    {
        var data = new byte[2000];
        new Random(4).NextBytes(data);

        // A known length: the read that finds the end took a second full segment.
        var known = new CachedBody(data.Length);
        known.Write(data);
        _ = known.GetWriteMemory();
        Assert.Equal(2 * data.Length, known.AllocatedBytes);
        known.TrimExcess();
        known.Complete();
        Assert.Equal(data.Length, known.AllocatedBytes);
        Assert.True(known.TryGetSingleSegment(out var whole));
        Assert.Equal(data, whole.ToArray());

        // Unknown length (e.g. compressed here): 2000 bytes in a 64 KiB segment, with a reader part-way through.
        var unknown = new CachedBody();
        unknown.Write(data.AsSpan(0, 1000));
        var reader = Read(unknown);
        unknown.Write(data.AsSpan(1000));
        unknown.TrimExcess();
        unknown.Complete();
        Assert.Equal(data.Length, unknown.AllocatedBytes);
        Assert.Equal(data, await reader);
        Assert.Equal(data, await Read(unknown));

        var empty = new CachedBody();
        _ = empty.GetWriteMemory();
        empty.TrimExcess();
        empty.Complete();
        Assert.Equal(0, empty.AllocatedBytes);
        Assert.True(empty.TryGetSingleSegment(out var nothing));
        Assert.True(nothing.IsEmpty);
    }

    [Fact]
    public void A_file_closes_with_the_last_reference_and_none_can_be_taken_after()
    {
        var path = Path.Combine(Path.GetTempPath(), $"edgecache-test-{Guid.NewGuid():N}");
        var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, FileOptions.DeleteOnClose);
        var body = CachedBody.ToFile(file);
        Assert.True(body.TryAddReference());
        Assert.True(body.TryAddReference());
        body.Write([1, 2, 3]);
        body.Complete();

        body.ReleaseReference();
        body.ReleaseReference();
        Assert.False(file.IsClosed);
        Assert.Equal(new byte[] { 1, 2, 3 }, body.ToArray());

        body.ReleaseReference();
        Assert.True(file.IsClosed);
        Assert.False(File.Exists(path));
        Assert.False(body.TryAddReference());
    }

    [Fact]
    public void A_body_in_memory_can_be_referenced_again_after_its_count_reached_zero()
    {
        // A stored body in memory outlives every fetch that referenced it; a 304 publishes it again later.
        var body = CachedBody.FromBytes([1, 2, 3]);
        body.ReleaseReference();
        Assert.True(body.TryAddReference());
        body.ReleaseReference();
    }

    [Fact]
    public async Task A_writer_waits_for_its_fastest_reader_and_is_told_to_stop_when_no_reader_is_left()
    {
        const int ReadAhead = 64 * 1024;
        var body = new CachedBody();
        Assert.True(body.TryAddReference()); // the writer's; the creator's stands for a viewer's
        body.Write(new byte[ReadAhead - 1]);
        Assert.True(body.WaitForReadersAsync(ReadAhead, CancellationToken.None).IsCompletedSuccessfully);

        body.Write(new byte[1]);
        var waiting = body.WaitForReadersAsync(ReadAhead, CancellationToken.None).AsTask();
        Assert.False(waiting.IsCompleted);

        // A reader that has sent half of what is ahead of it wakes the writer (it refills half the read-ahead at a time).
        var sent = 0L;
        var reader = body.CopyToAsync((m, _) => { sent += m.Length; return ValueTask.CompletedTask; }, 0, ReadAhead / 2, CancellationToken.None).AsTask();
        await reader;
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));

        body.Write(new byte[ReadAhead]);
        var stalled = body.WaitForReadersAsync(ReadAhead, CancellationToken.None).AsTask();
        Assert.False(stalled.IsCompleted);
        body.ReleaseReference(); // the viewer goes
        Assert.False(await stalled.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(body.TryAddReference());
    }

    [Fact]
    public async Task A_reader_that_needs_the_whole_body_first_lets_the_writer_run()
    {
        // A range of a body of unknown length: its viewer can read nothing until the length is known.
        var body = new CachedBody();
        Assert.True(body.TryAddReference());
        body.Write(new byte[1024 * 1024]);
        var waiting = body.WaitForReadersAsync(1024, CancellationToken.None).AsTask();
        var completion = body.WaitForCompletionAsync(CancellationToken.None);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        body.Write(new byte[1024 * 1024]);
        Assert.True(body.WaitForReadersAsync(1024, CancellationToken.None).IsCompletedSuccessfully);
        body.Complete();
        Assert.True(await completion);
    }

    private static async Task<byte[]> Read(CachedBody body)
    {
        var output = new MemoryStream();
        await body.CopyToAsync((m, ct) => output.WriteAsync(m, ct), 0, long.MaxValue, CancellationToken.None);
        return output.ToArray();
    }
}
