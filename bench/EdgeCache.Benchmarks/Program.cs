using System.Globalization;
using BenchmarkDotNet.Running;
using EdgeCache.Benchmarks;

// dotnet run -c Release --project bench/EdgeCache.Benchmarks -- --filter '*' --job short
// dotnet run -c Release --project bench/EdgeCache.Benchmarks -- --alloc-types Hit1KiB [operations]
// dotnet run -c Release --project bench/EdgeCache.Benchmarks -- --alloc-types Miss1KiB 100000
if (args.Length == 1 && args[0] == "--origin")
{
    // The miss benchmarks' origin, in its own process (OriginProcess).
    await OriginProcess.ServeAsync();
    return;
}

if (args.Length >= 2 && args[0] == "--alloc-types")
{
    AllocationProbe.Run(args[1], args.Length >= 3 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1_000_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(HitPathBenchmarks).Assembly).Run(args);
