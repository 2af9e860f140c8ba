using System.Globalization;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A cgroup v1 memory group of its own, under the test process's group, to run a node as a container with a memory
/// limit would: the process joins it before it execs the runtime, which reads its limit as it starts.
/// </summary>
public sealed class MemoryCgroup : IDisposable
{
    private const string Controller = "/sys/fs/cgroup/memory";

    private MemoryCgroup(string path) => Path = path;

    public string Path { get; }

    /// <summary>Why a memory group cannot be made here, or null when it can (cgroup v1's memory controller, as root).</summary>
    public static string? Unavailable()
    {
        if (!File.Exists(System.IO.Path.Combine(Controller, "memory.limit_in_bytes")))
        {
            return "no cgroup v1 memory controller at /sys/fs/cgroup/memory (a cgroup v2 host, or a container without it)";
        }

        return Environment.UserName == "root" ? null : "creating a memory cgroup needs root";
    }

    public static MemoryCgroup Create(long limitBytes)
    {
        var own = File.ReadAllLines("/proc/self/cgroup")
            .Select(l => l.Split(':', 3))
            .FirstOrDefault(p => p.Length == 3 && p[1].Split(',').Contains("memory"))?[2] ?? "/";
        var path = System.IO.Path.Combine(Controller + own.TrimEnd('/'), $"edgecache-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        File.WriteAllText(System.IO.Path.Combine(path, "memory.limit_in_bytes"), limitBytes.ToString(CultureInfo.InvariantCulture));
        return new MemoryCgroup(path);
    }

    /// <summary>Bytes charged to the group now.</summary>
    public long Usage => Read("memory.usage_in_bytes");

    /// <summary>The most ever charged to the group.</summary>
    public long MaxUsage => Read("memory.max_usage_in_bytes");

    /// <summary>How often the group hit its limit (the kernel then reclaims, and kills only if that fails).</summary>
    public long FailCount => Read("memory.failcnt");

    /// <summary>Processes the kernel's OOM killer took from the group (memory.oom_control's oom_kill).</summary>
    public long OomKills => File.ReadAllLines(System.IO.Path.Combine(Path, "memory.oom_control"))
        .Where(l => l.StartsWith("oom_kill ", StringComparison.Ordinal))
        .Select(l => long.Parse(l[9..], CultureInfo.InvariantCulture))
        .FirstOrDefault();

    /// <summary>A command line that joins the group, then execs <paramref name="command"/>.</summary>
    public IEnumerable<string> Wrap(IEnumerable<string> command) =>
        new[] { "-c", $"echo $$ > {Path}/cgroup.procs && exec \"$@\"", "sh" }.Concat(command);

    public void Dispose()
    {
        // The group can go once its processes have; a killed one takes a moment to leave.
        for (var attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                Directory.Delete(Path);
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
        }
    }

    private long Read(string file) => long.Parse(File.ReadAllText(System.IO.Path.Combine(Path, file)).Trim(), CultureInfo.InvariantCulture);
}
