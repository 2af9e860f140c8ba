using System.Globalization;

namespace EdgeCache.Memory;

/// <summary>
/// The memory limit of the container the node runs in: its cgroup's <c>memory.max</c> (v2, the tightest of its group and
/// the groups above it) or <c>memory.limit_in_bytes</c> (v1), found as the runtime finds them, through
/// /proc/self/cgroup and /proc/self/mountinfo. <see cref="Bytes"/> is the limit; <see cref="Source"/> the file it came from.
/// </summary>
public sealed record ContainerMemoryLimit(long Bytes, string Source)
{
    // cgroup v1 writes "no limit" as the largest page-aligned 63-bit value; anything this large is no limit.
    private const long Unlimited = 1L << 62;

    /// <summary>The limit, or null when there is none (or no cgroup to read). <paramref name="root"/>: "/" but in tests.</summary>
    public static ContainerMemoryLimit? Read(string root = "/")
    {
        var groups = Lines(root, "proc/self/cgroup");
        var mounts = Lines(root, "proc/self/mountinfo");
        if (groups is null || mounts is null)
        {
            return null;
        }

        // v1 first: on a hybrid host the memory controller is on its v1 hierarchy and the v2 mount has no controllers.
        var v1 = Group(groups, g => g.Controllers.Split(',').Contains("memory"));
        var v1Mount = Mount(mounts, m => m.Type == "cgroup" && m.Options.Split(',').Contains("memory"));
        if (v1 is not null && v1Mount is not null)
        {
            return Limit(root, Directories(v1Mount.Value, v1).Take(1), "memory.limit_in_bytes");
        }

        var v2 = Group(groups, g => g.Id == "0" && g.Controllers.Length == 0);
        var v2Mount = Mount(mounts, m => m.Type == "cgroup2");
        return v2 is not null && v2Mount is not null ? Limit(root, Directories(v2Mount.Value, v2), "memory.max") : null;
    }

    /// <summary>The group's directory, then each directory above it up to the mount point.</summary>
    private static IEnumerable<string> Directories((string Root, string Point) mount, string group)
    {
        var relative = mount.Root != "/" && group.StartsWith(mount.Root, StringComparison.Ordinal) ? group[mount.Root.Length..] : group;
        var directory = mount.Point.TrimEnd('/') + "/" + relative.Trim('/');
        while (true)
        {
            yield return directory.TrimEnd('/');
            if (directory.TrimEnd('/').Length <= mount.Point.TrimEnd('/').Length)
            {
                yield break;
            }

            directory = directory.TrimEnd('/')[..directory.TrimEnd('/').LastIndexOf('/')];
        }
    }

    private static ContainerMemoryLimit? Limit(string root, IEnumerable<string> directories, string file)
    {
        ContainerMemoryLimit? tightest = null;
        foreach (var directory in directories)
        {
            var source = directory + "/" + file;
            var text = Lines(root, source.TrimStart('/'))?.FirstOrDefault()?.Trim();
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes < Unlimited
                && (tightest is null || bytes < tightest.Bytes))
            {
                tightest = new ContainerMemoryLimit(bytes, source);
            }
        }

        return tightest;
    }

    private static string? Group(string[] lines, Func<(string Id, string Controllers), bool> match)
    {
        foreach (var line in lines)
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && match((parts[0], parts[1])))
            {
                return parts[2];
            }
        }

        return null;
    }

    /// <summary>mountinfo: "id parent dev root point options [optional...] - type source super-options".</summary>
    private static (string Root, string Point)? Mount(string[] lines, Func<(string Type, string Options), bool> match)
    {
        foreach (var line in lines)
        {
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (separator >= 5 && fields.Length > separator + 3 && match((fields[separator + 1], fields[separator + 3])))
            {
                return (Unescape(fields[3]), Unescape(fields[4]));
            }
        }

        return null;
    }

    // mountinfo writes a space in a path as \040.
    private static string Unescape(string field) => field.Replace("\\040", " ", StringComparison.Ordinal);

    private static string[]? Lines(string root, string relative)
    {
        try
        {
            return File.ReadAllLines(Path.Combine(root, relative));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
