using System.Runtime.InteropServices;
using System.Security.Cryptography;
using EdgeCache.Caching;
using EdgeCache.Tests.EndToEnd;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// Bodies held in in-memory files for sendfile (listen.sendFile): what the file holds is what was written, the mapping
/// lives as long as anything can read it, and the allocator keeps within its limit and falls back to arrays.
/// </summary>
public sealed class MappedBodyTests
{
    [Fact]
    public void The_file_holds_the_bytes_written_through_the_memory()
    {
        using var body = MappedBodyMemory.TryCreate(100_000);
        Assert.NotNull(body);
        var data = RandomNumberGenerator.GetBytes(100_000);
        data.CopyTo(body.Memory.Span);

        // sendfile reads the file, every other reader the mapping: they must be the same bytes.
        var fromFile = new byte[data.Length];
        Assert.Equal(data.Length, RandomAccess.Read(body.File, fromFile, 0));
        Assert.Equal(data, fromFile);
        Assert.Equal(data.Length, RandomAccess.GetLength(body.File));
    }

    [Fact]
    public void A_pin_keeps_the_mapping_until_it_is_released_even_after_dispose()
    {
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        var body = allocator.TryAllocate(MappedBodyAllocator.MinimumBytes);
        Assert.NotNull(body);
        body.Memory.Span.Fill(7);
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
        Assert.Null(allocator.TryAllocate(MappedBodyAllocator.MinimumBytes - 1));
        using var first = allocator.TryAllocate(MappedBodyAllocator.MinimumBytes);
        using var second = allocator.TryAllocate(1024 * 1024);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(allocator.TryAllocate(MappedBodyAllocator.MinimumBytes));
        Assert.Equal(2, allocator.Live);

        ((IDisposable)first).Dispose();
        using var third = allocator.TryAllocate(MappedBodyAllocator.MinimumBytes);
        Assert.NotNull(third);

        Assert.Null(new MappedBodyAllocator(enabled: false, limit: 10).TryAllocate(1024 * 1024));
    }

    [Fact]
    public async Task A_body_of_known_length_is_stored_mapped_and_reads_as_any_other()
    {
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        var data = RandomNumberGenerator.GetBytes(200_000);
        var body = new CachedBody(data.Length, allocator);
        body.Write(data.AsSpan(0, 1000));
        var reader = Read(body);
        body.Write(data.AsSpan(1000));
        body.TrimExcess();
        body.Complete();

        Assert.True(body.TryGetSingleSegment(out var whole));
        Assert.True(MemoryMarshal.TryGetMemoryManager<byte, MappedBodyMemory>(whole, out _));
        Assert.Equal(data, whole.ToArray());
        Assert.Equal(data, await reader);
        Assert.Equal(data, body.ToArray());
        Assert.Equal(MappedBodyMemory.FootprintOf(data.Length), body.AllocatedBytes);

        // Unknown length, or too small: arrays, as before.
        var small = new CachedBody(1000, allocator);
        small.Write(new byte[1000]);
        small.Complete();
        Assert.True(small.TryGetSingleSegment(out var smallWhole));
        Assert.True(MemoryMarshal.TryGetArray(smallWhole, out _));
        Assert.Equal(1, allocator.Live);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void AllocateAndDrop(MappedBodyAllocator allocator)
    {
        var body = allocator.TryAllocate(MappedBodyAllocator.MinimumBytes);
        Assert.NotNull(body);
        body.Memory.Span[0] = 1;
    }

    private static async Task<byte[]> Read(CachedBody body)
    {
        var output = new MemoryStream();
        await body.CopyToAsync((chunk, ct) => output.WriteAsync(chunk, ct), 0, long.MaxValue, CancellationToken.None);
        return output.ToArray();
    }
}
