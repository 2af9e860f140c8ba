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
    public void The_file_and_the_mapping_hold_the_bytes_written_in()
    {
        var data = RandomNumberGenerator.GetBytes(100_000);
        using var body = MappedBodyMemory.TryCreate(data.Length);
        Assert.NotNull(body);
        Assert.True(body.Write(data.AsSpan(0, 60_000), 0));
        Assert.True(body.Write(data.AsSpan(60_000), 60_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => body.Write(new byte[1], data.Length));

        // sendfile reads the file, every other reader the mapping: they must be the same bytes.
        var fromFile = new byte[data.Length];
        Assert.Equal(data.Length, RandomAccess.Read(body.File, fromFile, 0));
        Assert.Equal(data, fromFile);
        Assert.Equal(data.Length, RandomAccess.GetLength(body.File));
        Assert.Equal(data, body.Memory.ToArray());
    }

    [Fact]
    public void The_mapping_is_read_only_so_a_stored_body_cannot_be_changed_through_its_memory()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var data = RandomNumberGenerator.GetBytes(100_000);
        using var body = MappedBodyMemory.TryCreate(data.Length);
        Assert.NotNull(body);
        Assert.True(body.Write(data, 0));

        // Every mapping of a body's in-memory file (this one, and any other test holds now): readable and shared,
        // never writable.
        var mappings = File.ReadAllLines("/proc/self/maps").Where(line => line.Contains("memfd:edgecache-body", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(mappings);
        Assert.All(mappings, line => Assert.Equal("r--s", line.Split(' ')[1]));
        Assert.Equal(data, body.Memory.ToArray());
    }

    [Fact]
    public void A_pin_keeps_the_mapping_until_it_is_released_even_after_dispose()
    {
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        var body = Copy(allocator, Enumerable.Repeat((byte)7, MappedBodyAllocator.MinimumBytes).ToArray());
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
        Assert.Null(Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes - 1]));
        using var first = Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes]);
        using var second = Copy(allocator, new byte[1024 * 1024]);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes]));
        Assert.Equal(2, allocator.Live);

        ((IDisposable)first).Dispose();
        using var third = Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes]);
        Assert.NotNull(third);

        Assert.Null(new MappedBodyAllocator(enabled: false, limit: 10).TryCreate(1024 * 1024));
    }

    [Fact]
    public void The_allocator_maps_no_more_bytes_than_the_container_leaves_outside_the_heap()
    {
        // In-memory files count against the container's memory limit but not against the heap's: the node maps only what
        // its limit leaves beyond the runtime and the heap (MemoryBudget), and keeps further bodies in their arrays.
        var footprint = MappedBodyMemory.FootprintOf(MappedBodyAllocator.MinimumBytes);
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10, maxFootprintBytes: (2 * footprint) + 100);
        using var first = Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes]);
        using var second = Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes]);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Null(Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes]));
        Assert.Equal(2 * footprint, allocator.FootprintBytes);

        ((IDisposable)first).Dispose();
        using var third = Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes]);
        Assert.NotNull(third);
        Assert.Null(new MappedBodyAllocator(enabled: true, limit: 10, maxFootprintBytes: 0).TryCreate(MappedBodyAllocator.MinimumBytes));
    }

    [Fact]
    public async Task A_body_of_known_length_is_written_into_an_in_memory_file_as_it_arrives()
    {
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        var data = RandomNumberGenerator.GetBytes(200_000);
        var body = new CachedBody(data.Length, allocator);
        Assert.Equal(1, allocator.Live);
        body.Write(data.AsSpan(0, 1000));
        // A viewer of the fetch reads the file's mapping while the rest arrives.
        var reader = Read(body);
        body.Write(data.AsSpan(1000));
        body.TrimExcess();
        body.Complete();

        Assert.True(body.TryGetSingleSegment(out var whole));
        Assert.True(MemoryMarshal.TryGetMemoryManager<byte, MappedBodyMemory>(whole, out var mapped));
        var fromFile = new byte[data.Length];
        Assert.Equal(data.Length, RandomAccess.Read(mapped.File, fromFile, 0));
        Assert.Equal(data, fromFile);
        Assert.Equal(data, whole.ToArray());
        Assert.Equal(data, await reader);
        Assert.Equal(data, await Read(body));
        Assert.Equal(data, body.ToArray());
        Assert.Equal(MappedBodyMemory.FootprintOf(data.Length), body.AllocatedBytes);
        Assert.Equal(1, allocator.Live);
    }

    [Fact]
    public async Task A_body_longer_than_its_Content_Length_goes_on_in_arrays_with_the_bytes_so_far()
    {
        // The fetch fails such a body at its end (OriginBodyReader); until then its viewers stream what arrived, as from
        // a body that started in an array.
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        var data = RandomNumberGenerator.GetBytes(150_000);
        var body = new CachedBody(100_000, allocator);
        body.Write(data.AsSpan(0, 5000));
        var reader = Read(body);
        body.Write(data.AsSpan(5000));
        body.Complete();

        Assert.Equal(data, await reader);
        Assert.Equal(data, body.ToArray());
        Assert.False(body.TryGetSingleSegment(out _), "two segments: the announced length and what came after it");
        Assert.Equal(2 * 100_000, body.AllocatedBytes);
    }

    [Fact]
    public async Task A_body_whose_file_takes_no_more_goes_on_in_an_array_with_the_bytes_so_far()
    {
        // As when the container has no memory left for the file's pages: its descriptor is swapped for a read-only one
        // of the same file, so the next write fails and the mapping still holds what was written.
        var allocator = new MappedBodyAllocator(enabled: true, limit: 10);
        var data = RandomNumberGenerator.GetBytes(100_000);
        var body = new CachedBody(data.Length, allocator);
        body.Write(data.AsSpan(0, 40_000));
        MappedBodyMemory? filling = null;
        var reader = Read(body, chunk => filling ??= MemoryMarshal.TryGetMemoryManager<byte, MappedBodyMemory>(chunk, out var m) ? m : null);
        await CachingTests.Eventually(() => filling is not null);
        var fd = (int)filling!.File.DangerousGetHandle();
        using (var readOnly = File.OpenHandle($"/proc/self/fd/{fd}", FileMode.Open, FileAccess.Read))
        {
            Assert.Equal(fd, Dup2((int)readOnly.DangerousGetHandle(), fd));
        }

        body.Write(data.AsSpan(40_000));
        body.Complete();

        Assert.Equal(data, await reader);
        Assert.True(body.TryGetSingleSegment(out var whole));
        Assert.True(MemoryMarshal.TryGetArray(whole, out _), "the body went on in an array");
        Assert.Equal(data, whole.ToArray());
        Assert.Equal(data.Length, body.AllocatedBytes);
    }

    [Fact]
    public void Small_bodies_bodies_of_unknown_length_and_an_allocator_that_is_off_or_full_keep_their_arrays()
    {
        var on = new MappedBodyAllocator(enabled: true, limit: 10);
        var off = new MappedBodyAllocator(enabled: false, limit: 10);
        var full = new MappedBodyAllocator(enabled: true, limit: 0);
        foreach (var body in new[] { Filled(new CachedBody(MappedBodyAllocator.MinimumBytes - 1, on), MappedBodyAllocator.MinimumBytes - 1), Filled(new CachedBody(null, on), 40_000), Filled(new CachedBody(100_000, off), 100_000), Filled(new CachedBody(100_000, full), 100_000) })
        {
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
        var body = Copy(allocator, new byte[MappedBodyAllocator.MinimumBytes]);
        Assert.NotNull(body);
    }

    private static MappedBodyMemory? Copy(MappedBodyAllocator allocator, byte[] bytes)
    {
        var memory = allocator.TryCreate(bytes.Length);
        Assert.True(memory is null || memory.Write(bytes, 0));
        return memory;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static extern int Dup2(int oldFd, int newFd);

    private static async Task<byte[]> Read(CachedBody body, Action<ReadOnlyMemory<byte>>? seen = null)
    {
        var output = new MemoryStream();
        await body.CopyToAsync((chunk, ct) =>
        {
            seen?.Invoke(chunk);
            return output.WriteAsync(chunk, ct);
        }, 0, long.MaxValue, CancellationToken.None);
        return output.ToArray();
    }
}
