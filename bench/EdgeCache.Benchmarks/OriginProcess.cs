using System.Diagnostics;
using System.Reflection;

namespace EdgeCache.Benchmarks;

/// <summary>
/// A <see cref="BenchOrigin"/> in a child process (this assembly run with <c>--origin</c>), so that what the origin
/// allocates per request is not counted by the MemoryDiagnoser, which counts every thread of the benchmark process.
/// Started with the entry assembly's runtimeconfig and deps, so it works both from <c>dotnet run</c> and from
/// BenchmarkDotNet's generated runner, which references this assembly. The child exits when its stdin closes.
/// </summary>
internal sealed class OriginProcess : IDisposable
{
    private readonly Process _process;

    private OriginProcess(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }

    public static OriginProcess Start()
    {
        var entry = Assembly.GetEntryAssembly()!.Location;
        var stem = Path.Combine(Path.GetDirectoryName(entry)!, Path.GetFileNameWithoutExtension(entry));
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", "--runtimeconfig", stem + ".runtimeconfig.json", "--depsfile", stem + ".deps.json", typeof(OriginProcess).Assembly.Location, "--origin" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("origin process did not start");
        var url = process.StandardOutput.ReadLine();
        if (url is null || !url.StartsWith("http://", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"origin process said '{url}' instead of its URL");
        }

        return new OriginProcess(process, url);
    }

    /// <summary>The child's side: serve until the parent closes stdin (or dies).</summary>
    public static async Task ServeAsync()
    {
        await using var origin = await BenchOrigin.StartAsync();
        Console.WriteLine(origin.Url);
        await Console.Out.FlushAsync();
        await Console.In.ReadToEndAsync();
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(5000))
        {
            _process.Kill();
        }

        _process.Dispose();
    }
}
