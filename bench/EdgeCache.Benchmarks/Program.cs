using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/EdgeCache.Benchmarks -- --filter '*' --job short
BenchmarkSwitcher.FromAssembly(typeof(EdgeCache.Benchmarks.HitPathBenchmarks).Assembly).Run(args);
