using System.Diagnostics.Tracing;
using System.Globalization;
using System.Reflection;

namespace EdgeCache.Benchmarks;

/// <summary>
/// <c>--alloc-types Method [operations]</c>: runs one benchmark method in a loop and prints which types it allocates,
/// from the runtime's AllocationTick events (one sample per ~100 KB allocated, so the shares are by bytes). Names
/// what the MemoryDiagnoser's byte count is made of; read the code for where. Bytes per operation are counted over
/// every thread of the process (a miss continues on socket and thread-pool threads), as the MemoryDiagnoser counts them;
/// the miss benchmarks' origin runs in its own process, so nothing else in this one allocates per operation.
/// </summary>
internal static class AllocationProbe
{
    public static void Run(string method, int operations)
    {
        var benchmarkType = new[] { typeof(HitPathBenchmarks), typeof(MissPathBenchmarks) }.FirstOrDefault(t => t.GetMethod(method, BindingFlags.Public | BindingFlags.Instance) is not null)
            ?? throw new ArgumentException($"no benchmark method {method}");
        var benchmarks = Activator.CreateInstance(benchmarkType)!;
        benchmarkType.GetMethod("Setup")!.Invoke(benchmarks, null);
        try
        {
            var invoke = benchmarkType.GetMethod(method, BindingFlags.Public | BindingFlags.Instance)!.CreateDelegate<Func<object>>(benchmarks);
            for (var i = 0; i < 10_000; i++)
            {
                Complete(invoke());
            }

            using var listener = new AllocationListener();
            var gen0 = GC.CollectionCount(0);
            var gen1 = GC.CollectionCount(1);
            var before = GC.GetTotalAllocatedBytes(precise: true);
            for (var i = 0; i < operations; i++)
            {
                Complete(invoke());
            }

            var perOp = (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)operations;
            var gen0PerK = (GC.CollectionCount(0) - gen0) * 1000.0 / operations;
            var gen1PerK = (GC.CollectionCount(1) - gen1) * 1000.0 / operations;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{method}: {perOp:F1} B/op (all threads), Gen0 {gen0PerK:F3} / Gen1 {gen1PerK:F3} per 1,000 over {operations} operations; AllocationTick samples by type:"));
            foreach (var (type, count) in listener.Snapshot().OrderByDescending(t => t.Value))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {count,6}  {type}"));
            }
        }
        finally
        {
            benchmarkType.GetMethod("Cleanup")!.Invoke(benchmarks, null);
        }
    }

    private static void Complete(object result)
    {
        if (result is Task task)
        {
            task.GetAwaiter().GetResult();
        }
    }

    private sealed class AllocationListener : EventListener
    {
        private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
        private readonly Lock _lock = new();

        public Dictionary<string, int> Snapshot()
        {
            lock (_lock)
            {
                return new Dictionary<string, int>(_counts, StringComparer.Ordinal);
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick is verbose
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || eventData.PayloadNames is null)
            {
                return;
            }

            var index = eventData.PayloadNames.IndexOf("TypeName");
            var type = index >= 0 ? eventData.Payload?[index] as string ?? "?" : "?";
            lock (_lock)
            {
                _counts[type] = _counts.GetValueOrDefault(type) + 1;
            }
        }
    }
}
