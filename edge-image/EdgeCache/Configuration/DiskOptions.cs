namespace EdgeCache.Configuration;

/// <summary>The persistent tier below memory. Off unless <see cref="Directory"/> is set.</summary>
public sealed class DiskOptions
{
    /// <summary>A directory on a volume (the container declares /var/cache/edgecache).</summary>
    public string? Directory { get; set; }

    public long MaxBytes { get; set; } = 10L * 1024 * 1024 * 1024;

    /// <summary>After a write error (disk full, I/O), the tier stops writing for this long, then tries again.</summary>
    public int RetryAfterErrorSeconds { get; set; } = 60;
}
