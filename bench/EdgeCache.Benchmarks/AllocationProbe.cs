using System.Diagnostics.Tracing;
using System.Globalization;
using System.Reflection;

namespace EdgeCache.Benchmarks;

/// <summary>
/// <c>--alloc-types Method [operations]</c>: runs one benchmark method in a loop and prints which types it allocates,
/// from the runtime's AllocationTick events (one sample per ~100 KB allocated, so the shares are by bytes). Names
/// what the MemoryDiagnoser's byte count is made of; read the code for where.
/// </summary>
internal static class AllocationProbe
{
    public static void Run(string method, int operations)
    {
        var benchmarks = new HitPathBenchmarks();
        benchmarks.Setup();
        try
        {
            var target = typeof(HitPathBenchmarks).GetMethod(method, BindingFlags.Public | BindingFlags.Instance)
                ?? throw new ArgumentException($"no benchmark method {method}");
            var invoke = target.CreateDelegate<Func<object>>(benchmarks);
            for (var i = 0; i < 10_000; i++)
            {
                Complete(invoke());
            }

            using var listener = new AllocationListener();
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < operations; i++)
            {
                Complete(invoke());
            }

            var perOp = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)operations;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{method}: {perOp:F1} B/op on this thread over {operations} operations; AllocationTick samples by type:"));
            foreach (var (type, count) in listener.Snapshot().OrderByDescending(t => t.Value))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {count,6}  {type}"));
            }
        }
        finally
        {
            benchmarks.Cleanup();
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
