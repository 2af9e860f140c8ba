using System.Globalization;
using BenchmarkDotNet.Running;
using EdgeCache.Benchmarks;

// dotnet run -c Release --project bench/EdgeCache.Benchmarks -- --filter '*' --job short
// dotnet run -c Release --project bench/EdgeCache.Benchmarks -- --alloc-types Hit1KiB [operations]
if (args.Length >= 2 && args[0] == "--alloc-types")
{
    AllocationProbe.Run(args[1], args.Length >= 3 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1_000_000);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(HitPathBenchmarks).Assembly).Run(args);
