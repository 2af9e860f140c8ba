using EdgeCache.Memory;
using EdgeCache.Observability;

namespace EdgeCache.FastPath;

/// <summary>
/// Gives bodies their <see cref="MappedBodyMemory"/> when their fetch starts (<see cref="CachedBody"/>), so that hits
/// go to viewers by <c>sendfile</c>, and keeps their number
/// inside what the process may open: each holds one file descriptor and one mapping until it is collected. A body it
/// declines stays in its array; nothing fails for want of a mapping.
/// </summary>
public sealed class MappedBodyAllocator
{
    /// <summary>
    /// The garbage collector's large-object threshold. A smaller body's array comes from memory the collector reuses and
    /// costs a miss less than a file does; a larger one lands in fresh pages, which cost four times the file's CPU at
    /// 1 MiB (docs/decisions/0034-bodies-written-to-memory-files-as-they-arrive.md). Smaller bodies stay in arrays and go
    /// out with <c>sendmsg</c>.
    /// </summary>
    public const int MinimumBytes = 85_000;

    private readonly int _limit;
    private readonly long _maxFootprint;
    private int _live;
    private long _footprint;

    /// <param name="plan">
    /// The node's memory plan, when it runs in a container with a memory limit: mapped bodies are outside the heap and
    /// its limit, so they take no more than the plan leaves them (<see cref="MemoryPlan.MappedBodyBytes"/>).
    /// </param>
    public MappedBodyAllocator(LinuxFastPath fastPath, EdgeCacheMetrics metrics, MemoryPlan? plan = null)
        : this(fastPath.MappedBodies, fastPath.MappedBodies ? DefaultLimit() : 0, plan?.MappedBodyBytes ?? long.MaxValue)
    {
        // Read at scrape time: nothing on the fetch path but the two interlocked counters.
        metrics.Registry.AddBeforeCollectCallback(() =>
        {
            metrics.SendFileBodies.Set(Live);
            metrics.SendFileBodyBytes.Set(FootprintBytes);
        });
    }

    internal MappedBodyAllocator(bool enabled, int limit, long maxFootprintBytes = long.MaxValue)
    {
        Enabled = enabled;
        _limit = limit;
        _maxFootprint = maxFootprintBytes;
    }

    public bool Enabled { get; }

    /// <summary>Mapped bodies not yet collected.</summary>
    public int Live => Volatile.Read(ref _live);

    /// <summary>Memory they hold outside the managed heap (<see cref="MappedBodyMemory.Footprint"/>, summed).</summary>
    public long FootprintBytes => Interlocked.Read(ref _footprint);

    /// <summary>An empty in-memory file for a body of <paramref name="length"/> bytes, or null: the body then goes in an array.</summary>
    public MappedBodyMemory? TryCreate(int length)
    {
        if (!Enabled || length < MinimumBytes)
        {
            return null;
        }

        // Both counts taken before either is checked (no short-circuit), so both are given back together.
        var footprint = MappedBodyMemory.FootprintOf(length);
        if (Interlocked.Increment(ref _live) > _limit | Interlocked.Add(ref _footprint, footprint) > _maxFootprint)
        {
            Interlocked.Decrement(ref _live);
            Interlocked.Add(ref _footprint, -footprint);
            return null;
        }

        var memory = MappedBodyMemory.TryCreate(length, Released);
        if (memory is null)
        {
            Interlocked.Decrement(ref _live);
            Interlocked.Add(ref _footprint, -footprint);
            return null;
        }

        return memory;
    }

    private void Released(long footprint)
    {
        Interlocked.Add(ref _footprint, -footprint);
        Interlocked.Decrement(ref _live);
    }

    /// <summary>
    /// Half of the open-file limit and half of the mapping limit: the rest is for viewer and origin connections, disk
    /// files and the runtime's own mappings.
    /// </summary>
    private static int DefaultLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var files = Libc.GetRlimit(Libc.RLIMIT_NOFILE, out var limit) == 0 ? limit.Current : 1024;
        long maps = 65530;
        try
        {
            if (long.TryParse(System.IO.File.ReadAllText("/proc/sys/vm/max_map_count").Trim(), out var value))
            {
                maps = value;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not readable (a restricted /proc): the kernel's default.
        }

        return (int)Math.Min(Math.Min(files / 2, (ulong)maps / 2), int.MaxValue);
    }
}
