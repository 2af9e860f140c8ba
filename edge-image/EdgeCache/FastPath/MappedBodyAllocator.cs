using EdgeCache.Memory;
using EdgeCache.Observability;

namespace EdgeCache.FastPath;

/// <summary>
/// Gives stored bodies their <see cref="MappedBodyMemory"/> (at their second hit,
/// <see cref="CachedBody.PrepareForSendFile"/>), so that they go to viewers by <c>sendfile</c>, and keeps their number
/// inside what the process may open: each holds one file descriptor and one mapping until it is collected. A body it
/// declines stays in its array; nothing fails for want of a mapping.
/// </summary>
public sealed class MappedBodyAllocator
{
    /// <summary>
    /// Smaller bodies stay in arrays and go out in the same <c>sendmsg</c> as their headers. A C server sending the same
    /// object both ways to wrk was already ahead with <c>sendfile</c> at 16 KiB (docs/decisions/0016-sendfile-from-memory-files.md).
    /// </summary>
    public const int MinimumBytes = 16 * 1024;

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

    /// <summary>A mapped copy of <paramref name="body"/>, or null: the body then stays in its array.</summary>
    public MappedBodyMemory? TryCopy(ReadOnlySpan<byte> body)
    {
        if (!Enabled || body.Length < MinimumBytes)
        {
            return null;
        }

        // Both counts taken before either is checked (no short-circuit), so both are given back together.
        var footprint = MappedBodyMemory.FootprintOf(body.Length);
        if (Interlocked.Increment(ref _live) > _limit | Interlocked.Add(ref _footprint, footprint) > _maxFootprint)
        {
            Interlocked.Decrement(ref _live);
            Interlocked.Add(ref _footprint, -footprint);
            return null;
        }

        var memory = MappedBodyMemory.TryCreate(body, Released);
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
