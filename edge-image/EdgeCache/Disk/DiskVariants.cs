using System.Collections.Concurrent;
using EdgeCache.Caching;

namespace EdgeCache.Disk;

/// <summary>The indexed variants of one primary key, all selected by the same Vary names.</summary>
internal sealed class DiskVariants(CacheKey key, string[] varyNames)
{
    /// <summary>The key every variant here is stored under; its path is what purges match.</summary>
    public CacheKey Key { get; } = key;

    public string[] VaryNames { get; } = varyNames;

    /// <summary>By secondary key. Changed only under the key's lock (<see cref="DiskIndex"/>); read without it.</summary>
    public ConcurrentDictionary<string, DiskRecord> Records { get; } = new(StringComparer.Ordinal);
}
