namespace EdgeCache.Configuration;

/// <summary>The persistent tier below memory. Off unless <see cref="Directory"/> is set.</summary>
public sealed class DiskOptions
{
    /// <summary>A directory on a volume (the container declares /var/cache/edgecache).</summary>
    public string? Directory { get; set; }

    public long MaxBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>
    /// Most entries the tier keeps, oldest out first like bytes. Each keeps its key and file path on the heap
    /// (<see cref="Memory.MemoryBudget.DiskIndexBytesPerEntry"/>), so this bounds the tier's share of the process's
    /// memory, whatever the objects' sizes. Default: one per <see cref="DefaultBytesPerEntry"/> of <see cref="MaxBytes"/>.
    /// </summary>
    public long? MaxEntries { get; set; }

    /// <summary>The average entry size the default <see cref="MaxEntries"/> assumes.</summary>
    public const long DefaultBytesPerEntry = 16 * 1024;

    /// <summary><see cref="MaxEntries"/> or its default.</summary>
    public long EntryLimit => MaxEntries ?? Math.Max(1, MaxBytes / DefaultBytesPerEntry);

    /// <summary>After a write error (disk full, I/O), the tier stops writing for this long, then tries again.</summary>
    public int RetryAfterErrorSeconds { get; set; } = 60;
}
