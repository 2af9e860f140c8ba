namespace EdgeCache.Invalidation;

/// <summary>
/// When the oldest object in the disk tier's directory was written: a node that has lost its invalidation state (or
/// never had one) must apply every record made since then, and none made before can remove anything it holds. The
/// index does not keep when an entry was stored, and this is asked once at start, so the files' times answer it.
/// </summary>
public static class DiskTierAge
{
    public static DateTimeOffset? OldestWrite(string directory)
    {
        DateTime? oldest = null;
        try
        {
            foreach (var path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            {
                if (System.IO.Path.GetFileName(path).StartsWith(FollowerStateStore.FileName, StringComparison.Ordinal))
                {
                    continue;
                }

                var written = File.GetLastWriteTimeUtc(path);
                if (oldest is null || written < oldest)
                {
                    oldest = written;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not knowing how old the tier is, assume it holds anything: every record in the log is applied.
            return DateTimeOffset.UnixEpoch;
        }

        return oldest is { } time ? new DateTimeOffset(time, TimeSpan.Zero) : null;
    }
}
