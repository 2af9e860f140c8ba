using System.Security.Cryptography;
using System.Text;

namespace EdgeCache.Disk;

/// <summary>Where the tier's files live: one per variant, named by the hash of its keys, beside the temp files writes go through.</summary>
internal static class DiskFiles
{
    public const string EntrySuffix = ".entry";

    /// <summary>A write that has not reached its rename; never an entry, and deleted by start-up's index pass.</summary>
    public const string TempSuffix = ".tmp";

    public static string EntryPath(string directory, string primaryKey, string secondaryKey)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(primaryKey + "\n" + secondaryKey)));
        return Path.Combine(directory, hash[..2], hash + EntrySuffix);
    }

    /// <summary>A temp file beside <paramref name="entryPath"/>, in its directory (created if need be), so the rename stays on one file system.</summary>
    public static string TempPathFor(string entryPath)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(entryPath)!);
        return $"{entryPath}.{Guid.NewGuid():N}{TempSuffix}";
    }

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next start-up's index pass to find and drop.
        }
    }
}
