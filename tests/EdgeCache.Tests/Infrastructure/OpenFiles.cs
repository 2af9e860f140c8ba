namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// The files this process (and so an in-process <see cref="EdgeNode"/>) holds open, read from <c>/proc/self/fd</c>: a
/// deleted file still held shows as its old path followed by " (deleted)", which is how a spill file looks.
/// </summary>
internal static class OpenFiles
{
    /// <summary>Targets of the open descriptors whose path is under <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> Under(string directory)
    {
        var prefix = Path.TrimEndingDirectorySeparator(directory) + Path.DirectorySeparatorChar;
        var found = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                // Closed between the listing and the read.
                continue;
            }

            if (target is not null && target.StartsWith(prefix, StringComparison.Ordinal))
            {
                found.Add(target);
            }
        }

        return found;
    }
}
