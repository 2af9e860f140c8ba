using System.Buffers;
using Microsoft.AspNetCore.Connections;

namespace EdgeCache.FastPath;

/// <summary>Hands Kestrel and its socket transport a <see cref="LargeBlockMemoryPool"/> for each pool they ask for.</summary>
public sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    private int _created;

    /// <summary>Pools handed out: Kestrel asks once per listener and once for itself.</summary>
    public int PoolsCreated => Volatile.Read(ref _created);

    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        Interlocked.Increment(ref _created);
        return new LargeBlockMemoryPool();
    }
}
