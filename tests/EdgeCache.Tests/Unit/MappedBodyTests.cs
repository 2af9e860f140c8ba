using System.Runtime.InteropServices;
using System.Security.Cryptography;
using EdgeCache.Caching;
using EdgeCache.FastPath;
using EdgeCache.Tests.EndToEnd;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// Bodies held in in-memory files for sendfile (listen.sendFile): what the file holds is what was written, the mapping
/// lives as long as anything can read it, and the allocator keeps within its limit and falls back to arrays.
/// </summary>
public sealed class MappedBodyTests
{
    [Fact]
    public void The_file_and_the_mapping_hold_the_bytes_copied_in()
    {
        var data = RandomNumberGenerator.GetBytes(100_000);
        using var body = MappedBodyMemory.TryCreate(data);
        Assert.NotNull(body);

        // sendfile reads the file, every other reader the mapping: they must be the same bytes.
        var fromFile = new byte[data.Length];
        Assert.Equal(data.Length, RandomAccess.Read(body.File, fromFile, 0));
        Assert.Equal(data, fromFile);
        Assert.Equal(data.Length, RandomAccess.GetLength(body.File));
        Assert.Equal(data, body.Memory.ToArray());
    }

    [Fact]
    public void A_pin_keeps_the_mapping_until_it_is_released_even_after_dispose()
    {
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        var body = allocator.TryCopy(Enumerable.Repeat((byte)7, MappedBodyAllocator.MinimumBytes).ToArray());
        Assert.NotNull(body);
        Assert.Equal(1, allocator.Live);
        Assert.Equal(MappedBodyMemory.FootprintOf(MappedBodyAllocator.MinimumBytes), allocator.FootprintBytes);

        var pin = body.Memory.Pin();
        ((IDisposable)body).Dispose();
        Assert.Equal(1, allocator.Live);
        // Still mapped: reading it does not fault.
        Assert.Equal(7, body.GetSpan()[MappedBodyAllocator.MinimumBytes - 1]);

        pin.Dispose();
        Assert.Equal(0, allocator.Live);
        Assert.Equal(0, allocator.FootprintBytes);
    }

    [Fact]
    public async Task A_body_nothing_references_any_more_is_released_by_the_collector()
    {
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        AllocateAndDrop(allocator);
        Assert.Equal(1, allocator.Live);

        await CachingTests.Eventually(() =>
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            return allocator.Live == 0;
        });
        Assert.Equal(0, allocator.FootprintBytes);
    }

    [Fact]
    public void The_allocator_declines_small_bodies_beyond_its_limit_and_when_off()
    {
        var allocator = new MappedBodyAllocator(enabled: true, limit: 2);
        Assert.Null(allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes - 1]));
        using var first = allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes]);
        using var second = allocator.TryCopy(new byte[1024 * 1024]);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes]));
        Assert.Equal(2, allocator.Live);

        ((IDisposable)first).Dispose();
        using var third = allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes]);
        Assert.NotNull(third);

        Assert.Null(new MappedBodyAllocator(enabled: false, limit: 10).TryCopy(new byte[1024 * 1024]));
    }

    [Fact]
    public void The_allocator_maps_no_more_bytes_than_the_container_leaves_outside_the_heap()
    {
        // In-memory files count against the container's memory limit but not against the heap's: the node maps only what
        // its limit leaves beyond the runtime and the heap (MemoryBudget), and keeps further bodies in their arrays.
        var footprint = MappedBodyMemory.FootprintOf(MappedBodyAllocator.MinimumBytes);
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10, maxFootprintBytes: (2 * footprint) + 100);
        using var first = allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes]);
        using var second = allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes]);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes]));
        Assert.Equal(2 * footprint, allocator.FootprintBytes);

        ((IDisposable)first).Dispose();
        using var third = allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes]);
        Assert.NotNull(third);
        Assert.Null(new MappedBodyAllocator(enabled: true, limit: 10, maxFootprintBytes: 0).TryCopy(new byte[MappedBodyAllocator.MinimumBytes]));
    }

    [Fact]
    public async Task A_body_moves_to_an_in_memory_file_at_its_second_hit_and_reads_the_same_before_and_after()
    {
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        var data = RandomNumberGenerator.GetBytes(200_000);
        var body = new CachedBody(data.Length, allocator);
        body.Write(data.AsSpan(0, 1000));
        body.PrepareForSendFile(); // not complete yet: not a hit on a stored body
        var reader = Read(body);
        body.Write(data.AsSpan(1000));
        body.TrimExcess();
        body.Complete();
        // Counted as it will be held, from the start: the tier counts an entry once, when it is stored.
        Assert.Equal(MappedBodyMemory.FootprintOf(data.Length), body.AllocatedBytes);

        body.PrepareForSendFile();
        Assert.True(body.TryGetSingleSegment(out var first));
        Assert.True(MemoryMarshal.TryGetArray(first, out _), "one hit: still the array the fetch filled");
        Assert.Equal(0, allocator.Live);

        body.PrepareForSendFile(); // the second hit: the move is queued to the thread pool
        // Waited for in the body, not in the allocator's count: the move counts its file when it makes it and swaps it
        // in only after copying.
        await CachingTests.Eventually(() => body.TryGetSingleSegment(out var moved) && MemoryMarshal.TryGetMemoryManager<byte, MappedBodyMemory>(moved, out _));
        Assert.Equal(1, allocator.Live);
        Assert.True(body.TryGetSingleSegment(out var second));
        body.MoveToFile(); // a second move (two hits both counted 2) finds it moved and makes no other file
        Assert.Equal(1, allocator.Live);

        Assert.Equal(data, first.ToArray()); // a reader holding the array keeps valid bytes
        Assert.Equal(data, second.ToArray());
        Assert.Equal(data, await reader);
        Assert.Equal(data, await Read(body));
        Assert.Equal(data, body.ToArray());
        Assert.Equal(MappedBodyMemory.FootprintOf(data.Length), body.AllocatedBytes);
    }

    [Fact]
    public void Small_bodies_bodies_of_unknown_length_and_an_allocator_that_is_off_keep_their_arrays()
    {
        var on = new MappedBodyAllocator(enabled: true, limit: 10);
        var off = new MappedBodyAllocator(enabled: false, limit: 10);
        foreach (var body in new[] { Filled(new CachedBody(1000, on), 1000), Filled(new CachedBody(null, on), 40_000), Filled(new CachedBody(40_000, off), 40_000) })
        {
            body.PrepareForSendFile();
            body.MoveToFile(); // what the second hit queues, run here so that its outcome is known
            Assert.True(body.TryGetSingleSegment(out var whole));
            Assert.True(MemoryMarshal.TryGetArray(whole, out var array));
            Assert.Equal(array.Array!.Length, body.AllocatedBytes);
        }

        Assert.Equal(0, on.Live);
    }

    private static CachedBody Filled(CachedBody body, int length)
    {
        body.Write(new byte[length]);
        body.TrimExcess();
        body.Complete();
        return body;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void AllocateAndDrop(MappedBodyAllocator allocator)
    {
        var body = allocator.TryCopy(new byte[MappedBodyAllocator.MinimumBytes]);
        Assert.NotNull(body);
    }

    private static async Task<byte[]> Read(CachedBody body)
    {
        var output = new MemoryStream();
        await body.CopyToAsync((chunk, ct) => output.WriteAsync(chunk, ct), 0, long.MaxValue, CancellationToken.None);
        return output.ToArray();
    }
}
