using System.Runtime.InteropServices;
using EdgeCache.FastPath;

namespace EdgeCache.Tests.Unit;

public sealed class LargeBlockMemoryPoolTests
{
    [Fact]
    public void Every_rent_gets_a_whole_block_and_nothing_larger_is_offered()
    {
        using var pool = new LargeBlockMemoryPool(blockSize: 8192);
        Assert.Equal(8192, pool.MaxBufferSize);
        using var any = pool.Rent();
        using var small = pool.Rent(1);
        Assert.Equal(8192, any.Memory.Length);
        Assert.Equal(8192, small.Memory.Length);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(8193));
        Assert.Equal("minBufferSize", ex.ParamName);
    }

    [Fact]
    public void A_returned_block_is_reused_and_a_second_dispose_does_not_return_it_twice()
    {
        using var pool = new LargeBlockMemoryPool(blockSize: 4096);
        var first = pool.Rent();
        var array = Array(first);
        first.Dispose();
        first.Dispose();
        Assert.Equal(1, pool.RetainedBlocks);

        using var again = pool.Rent();
        using var other = pool.Rent();
        Assert.Same(array, Array(again));
        Assert.NotSame(array, Array(other)); // two pipes never share one block
        Assert.Equal(0, pool.RetainedBlocks);
    }

    [Fact]
    public void Blocks_past_the_retention_cap_are_left_to_the_gc()
    {
        using var pool = new LargeBlockMemoryPool(blockSize: 4096, maxRetainedBlocks: 2);
        var blocks = Enumerable.Range(0, 5).Select(_ => pool.Rent()).ToList();
        blocks.ForEach(b => b.Dispose());
        Assert.Equal(2, pool.RetainedBlocks);
    }

    [Fact]
    public void A_disposed_pool_rents_nothing_and_keeps_nothing()
    {
        var pool = new LargeBlockMemoryPool(blockSize: 4096);
        var block = pool.Rent();
        pool.Dispose();
        block.Dispose();
        Assert.Equal(0, pool.RetainedBlocks);
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
    }

    private static byte[] Array(System.Buffers.IMemoryOwner<byte> owner)
    {
        Assert.True(MemoryMarshal.TryGetArray<byte>(owner.Memory, out var segment));
        return segment.Array!;
    }
}
