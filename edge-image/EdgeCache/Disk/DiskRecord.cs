using EdgeCache.Caching;

namespace EdgeCache.Disk;

/// <summary>One indexed entry file. A class, not a record: the index swaps and removes records by identity.</summary>
internal sealed class DiskRecord(CacheKey key, string secondaryKey, string path, long size, DateTimeOffset responseTime)
{
    // When this process last checked the body's SHA-256 whole (or computed it while writing); 0: never.
    private long _verifiedAtTicks;

    public CacheKey Key { get; } = key;

    public string PrimaryKey => Key.Primary;

    public string SecondaryKey { get; } = secondaryKey;

    /// <summary>The entry's file.</summary>
    public string Path { get; } = path;

    /// <summary>The file's bytes: body and trailer, counted against disk.maxBytes.</summary>
    public long Size { get; } = size;

    /// <summary>When the origin's response arrived: of a URL's variants, the one received longest ago goes first at its cap.</summary>
    public DateTimeOffset ResponseTime { get; } = responseTime;

    /// <summary>
    /// The body need not be checked before this read: it has been checked by this process, and for a range (which
    /// cannot be checked as it streams) within <see cref="DiskCacheStore.RangeReadRecheckInterval"/>.
    /// </summary>
    public bool VerifiedFor(DateTimeOffset now, bool ranged)
    {
        var at = Volatile.Read(ref _verifiedAtTicks);
        return at != 0 && (!ranged || now.UtcTicks - at <= DiskCacheStore.RangeReadRecheckInterval.Ticks);
    }

    public void Verified(DateTimeOffset now) => Volatile.Write(ref _verifiedAtTicks, now.UtcTicks);

    public void CopyVerification(DiskRecord from) => Volatile.Write(ref _verifiedAtTicks, Volatile.Read(ref from._verifiedAtTicks));
}
