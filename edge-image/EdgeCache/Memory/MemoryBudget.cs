using EdgeCache.Configuration;

namespace EdgeCache.Memory;

/// <summary>
/// How a container's memory limit is shared out: the runtime's reserve, the memory tier with the heap's headroom, the
/// disk tier's index, and what is left for bodies mapped into in-memory files. The same sums as the Pulumi program's
/// (components/config/runtime.ts), which also sets the heap limit from them; measurements in
/// docs/decisions/0026-memory-budget.md.
/// </summary>
public static partial class MemoryBudget
{
    private const long MiB = 1024 * 1024;

    /// <summary>
    /// What the node uses outside its garbage-collected heap: the runtime's and the framework's code mapped from the
    /// image, the runtime's own shared memory, native memory and thread stacks under load.
    /// </summary>
    public const long RuntimeReserveBytes = 96 * MiB;

    /// <summary>
    /// What the disk tier's index keeps on the heap per entry: its keys, its file's path, its bookkeeping (1.1-1.25 KB
    /// measured with 50-character URLs; each character more costs two bytes).
    /// </summary>
    public const long DiskIndexBytesPerEntry = 1536;

    /// <summary>Heap room beyond the memory tier: garbage between collections and requests in flight.</summary>
    public static long HeapHeadroomBytes(long memoryTierBytes) => (32 * MiB) + (memoryTierBytes / 8);

    /// <summary>
    /// Checks that the tiers and the runtime fit <paramref name="limit"/> (none: nothing to check) and that the GC's
    /// <paramref name="heapLimitBytes"/> holds the tiers, and derives what mapped bodies may take: what the limit
    /// leaves beyond the runtime and the heap.
    /// </summary>
    public static MemoryPlan Plan(EdgeCacheOptions options, ContainerMemoryLimit? limit, long heapLimitBytes)
    {
        var tier = options.Cache.MemoryBytes;
        var entries = options.Cache.Disk.Directory is null ? 0 : options.Cache.Disk.EntryLimit;
        var diskIndex = entries * DiskIndexBytesPerEntry;
        var heapNeeded = tier + HeapHeadroomBytes(tier) + diskIndex;
        var needed = RuntimeReserveBytes + heapNeeded;
        var errors = new List<string>();
        var warnings = new List<string>();
        if (limit is null)
        {
            return new MemoryPlan(null, heapLimitBytes, needed, null, errors, warnings);
        }

        var parts = $"{Mi(RuntimeReserveBytes)} for the .NET runtime + the {Mi(tier)} memory tier (cache.memoryBytes) + {Mi(HeapHeadroomBytes(tier))} of heap headroom"
            + (entries > 0 ? $" + {Mi(diskIndex)} for the disk tier's index (cache.disk.maxEntries {entries} × {DiskIndexBytesPerEntry} B)" : "");
        if (limit.Bytes < RuntimeReserveBytes + tier + HeapHeadroomBytes(tier))
        {
            errors.Add($"cache.memoryBytes: the container's memory limit of {Mi(limit.Bytes)} ({limit.Source}) is below the {Mi(needed)} this node needs: {parts}; raise the limit or lower cache.memoryBytes, or the node is OOM-killed");
        }
        else if (limit.Bytes < needed)
        {
            errors.Add($"cache.disk.maxEntries: the container's memory limit of {Mi(limit.Bytes)} ({limit.Source}) is below the {Mi(needed)} this node needs: {parts}; raise the limit or lower cache.disk.maxEntries, or the node is OOM-killed");
        }

        // Only once the container fits: below that, raising the heap's limit is not the fix.
        if (errors.Count == 0 && heapLimitBytes < heapNeeded)
        {
            errors.Add($"DOTNET_GCHeapHardLimit: the heap limit of {Mi(heapLimitBytes)} is below the {Mi(heapNeeded)} the memory tier (cache.memoryBytes), its headroom and the disk tier's index need; the node would fail with OutOfMemoryException once they fill");
        }

        var mapped = limit.Bytes - RuntimeReserveBytes - heapLimitBytes;
        if (mapped < 0)
        {
            warnings.Add($"DOTNET_GCHeapHardLimit: the heap limit of {Mi(heapLimitBytes)} leaves the runtime less than its {Mi(RuntimeReserveBytes)} of the container's {Mi(limit.Bytes)}; set it to at most {Mi(limit.Bytes - RuntimeReserveBytes)} (the Pulumi program does), or a full heap may get the node OOM-killed");
        }

        return new MemoryPlan(limit, heapLimitBytes, needed, Math.Max(0, mapped), errors, warnings);
    }

    /// <summary>Logs the plan once at start: the limit, the heap's limit and the GC's mode, and what each part may use.</summary>
    public static void Log(ILogger logger, MemoryPlan plan, EdgeCacheOptions options)
    {
        var gc = GC.GetConfigurationVariables();
        var server = gc.TryGetValue("ServerGC", out var s) && s is true;
        var heaps = gc.TryGetValue("HeapCount", out var h) ? Convert.ToInt64(h, System.Globalization.CultureInfo.InvariantCulture) : 1;
        LogPlan(logger, plan.Limit?.Bytes, plan.Limit?.Source ?? "none", plan.HeapLimitBytes, server ? "server" : "workstation", heaps,
            options.Cache.MemoryBytes, plan.NeededBytes, plan.MappedBodyBytes);
        foreach (var warning in plan.Warnings)
        {
            LogWarning(logger, warning);
        }
    }

    private static string Mi(long bytes) => $"{Math.Ceiling(bytes / (double)MiB):0} MiB";

    [LoggerMessage(EventId = 50, Level = LogLevel.Information, Message = "Memory: container limit {LimitBytes} ({LimitSource}), GC heap limit {HeapLimitBytes}, {GcMode} GC with {GcHeaps} heap(s), memory tier {MemoryTierBytes}, needed {NeededBytes}, mapped bodies up to {MappedBodyBytes}")]
    private static partial void LogPlan(ILogger logger, long? limitBytes, string limitSource, long heapLimitBytes, string gcMode, long gcHeaps, long memoryTierBytes, long neededBytes, long? mappedBodyBytes);

    [LoggerMessage(EventId = 51, Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogWarning(ILogger logger, string warning);
}
