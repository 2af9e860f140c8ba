using EdgeCache.Configuration;
using EdgeCache.Hosting;
using EdgeCache.Memory;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// The node's own check of its container's memory limit, read from the cgroup files as the runtime reads them (here from
/// a directory laid out like /proc and /sys), against what its tiers and the runtime need.
/// </summary>
public sealed class MemoryBudgetTests : IDisposable
{
    private const long MiB = 1024 * 1024;
    private readonly string _root = Directory.CreateTempSubdirectory("edgecache-cgroup-").FullName;

    [Fact]
    public void A_cgroup_v2_limit_is_read_from_memory_max_of_the_process_group()
    {
        Write("proc/self/cgroup", "0::/kubepods/pod1/c1\n");
        Write("proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
        Write("sys/fs/cgroup/kubepods/pod1/c1/memory.max", "117440512\n");

        var limit = ContainerMemoryLimit.Read(_root);

        Assert.NotNull(limit);
        Assert.Equal(112 * MiB, limit.Bytes);
        Assert.Equal("/sys/fs/cgroup/kubepods/pod1/c1/memory.max", limit.Source);
    }

    [Fact]
    public void A_cgroup_v2_group_inside_a_namespace_is_the_mount_itself_and_a_tighter_parent_wins()
    {
        // A container with its own cgroup namespace sees its group as "/", mounted at /sys/fs/cgroup.
        Write("proc/self/cgroup", "0::/\n");
        Write("proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        Write("sys/fs/cgroup/memory.max", "max\n");
        Assert.Null(ContainerMemoryLimit.Read(_root));

        Write("proc/self/cgroup", "0::/pod/c1\n");
        Write("sys/fs/cgroup/pod/memory.max", "268435456\n");
        Write("sys/fs/cgroup/pod/c1/memory.max", "max\n");
        Assert.Equal(256 * MiB, ContainerMemoryLimit.Read(_root)!.Bytes);
    }

    [Fact]
    public void A_cgroup_v1_limit_is_read_from_the_memory_controller_and_no_limit_reads_as_none()
    {
        Write("proc/self/cgroup", "12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n");
        Write("proc/self/mountinfo", string.Join('\n',
            "25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755",
            "33 25 0:29 /docker/abc /sys/fs/cgroup/memory ro,nosuid,nodev,noexec,relatime master:15 - cgroup cgroup rw,memory",
            "34 25 0:30 /docker/abc /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids",
            "35 25 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw") + "\n");
        Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "536870912\n");

        var limit = ContainerMemoryLimit.Read(_root);
        Assert.Equal(512 * MiB, limit!.Bytes);
        Assert.Equal("/sys/fs/cgroup/memory/memory.limit_in_bytes", limit.Source);

        Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
        Assert.Null(ContainerMemoryLimit.Read(_root));
    }

    [Fact]
    public void No_cgroup_files_read_as_no_limit()
    {
        Assert.Null(ContainerMemoryLimit.Read(_root));
    }

    [Fact]
    public void A_tier_that_does_not_fit_the_limit_with_the_runtime_is_refused_in_one_line_naming_the_fields()
    {
        var options = Options(memoryTier: 64 * MiB);

        var plan = MemoryBudget.Plan(options, new ContainerMemoryLimit(112 * MiB, "/sys/fs/cgroup/memory.max"), heapLimitBytes: 84 * MiB);

        var error = Assert.Single(plan.Errors);
        Assert.StartsWith("cache.memoryBytes: ", error, StringComparison.Ordinal);
        Assert.Contains("112 MiB", error, StringComparison.Ordinal);
        Assert.Contains("/sys/fs/cgroup/memory.max", error, StringComparison.Ordinal);
        Assert.Contains("200 MiB", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void The_disk_index_counts_and_its_cap_is_named()
    {
        var options = Options(memoryTier: 64 * MiB);
        options.Cache.Disk.Directory = "/var/cache/edgecache";
        options.Cache.Disk.MaxEntries = 100_000;

        var plan = MemoryBudget.Plan(options, new ContainerMemoryLimit(256 * MiB, "memory.max"), heapLimitBytes: 150 * MiB);

        Assert.Contains(plan.Errors, e => e.StartsWith("cache.disk.maxEntries: ", StringComparison.Ordinal) && e.Contains("100000", StringComparison.Ordinal));
    }

    [Fact]
    public void A_heap_limit_below_what_the_tiers_need_is_refused_naming_the_variable()
    {
        var plan = MemoryBudget.Plan(Options(memoryTier: 64 * MiB), new ContainerMemoryLimit(512 * MiB, "memory.max"), heapLimitBytes: 80 * MiB);

        var error = Assert.Single(plan.Errors);
        Assert.StartsWith("DOTNET_GCHeapHardLimit: ", error, StringComparison.Ordinal);
        Assert.Contains("104 MiB", error, StringComparison.Ordinal);
    }

    [Fact]
    public void What_fits_leaves_mapped_bodies_what_the_runtime_and_the_heap_do_not_take()
    {
        var plan = MemoryBudget.Plan(Options(memoryTier: 256 * MiB), new ContainerMemoryLimit(512 * MiB, "memory.max"), heapLimitBytes: 368 * MiB);

        Assert.Empty(plan.Errors);
        Assert.Equal(48 * MiB, plan.MappedBodyBytes);
        Assert.Equal(416 * MiB, plan.NeededBytes);

        var unlimited = MemoryBudget.Plan(Options(memoryTier: 256 * MiB), limit: null, heapLimitBytes: 16L * 1024 * MiB);
        Assert.Empty(unlimited.Errors);
        Assert.Null(unlimited.MappedBodyBytes);
    }

    [Fact]
    public void A_heap_limit_that_leaves_the_runtime_less_than_its_reserve_maps_nothing_and_is_reported()
    {
        // The runtime's default in a container: 75% of the limit for the heap.
        var plan = MemoryBudget.Plan(Options(memoryTier: 64 * MiB), new ContainerMemoryLimit(256 * MiB, "memory.max"), heapLimitBytes: 192 * MiB);

        Assert.Empty(plan.Errors);
        Assert.Equal(0, plan.MappedBodyBytes);
        Assert.Contains(plan.Warnings, w => w.Contains("DOTNET_GCHeapHardLimit", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static EdgeCacheOptions Options(long memoryTier) => new() { Cache = new CacheOptions { MemoryBytes = memoryTier } };

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
