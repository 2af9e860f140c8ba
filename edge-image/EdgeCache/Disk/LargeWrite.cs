using EdgeCache.Caching;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Disk;

/// <summary>A large body being streamed into a temp file on the disk tier (<see cref="DiskCacheStore.BeginLarge"/>).</summary>
public sealed class LargeWrite(CacheKey key, string path, string tempPath, SafeFileHandle handle)
{
    public CacheKey Key { get; } = key;

    /// <summary>The entry's file, once committed.</summary>
    public string Path { get; } = path;

    public string TempPath { get; } = tempPath;

    /// <summary>The temp file, written by the body as it arrives and read by its viewers.</summary>
    public SafeFileHandle Handle { get; } = handle;

    /// <summary>Purge generation when the fetch began.</summary>
    public long Generation { get; init; }
}
