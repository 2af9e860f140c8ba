using System.Diagnostics;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>The real server process: invalid config stops start-up before anything listens, naming every bad field.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task Invalid_config_exits_2_and_names_each_bad_field()
    {
        var viewerPort = FreePort.Next();
        var config = Path.Combine(Path.GetTempPath(), $"edgecache-bad-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "listen": { "address": "127.0.0.1", "viewerPort": {{viewerPort}}, "adminPort": {{viewerPort}} },
              "cache": { "memoryBytes": 2097152, "maxObjectBytes": 4194304 },
              "origins": [ { "id": "site", "type": "http", "url": "http://127.0.0.1:9" } ],
              "behaviors": [
                { "pathPattern": "/img/*", "origin": "images", "minTtlSeconds": 100, "defaultTtlSeconds": 10 },
                { "pathPattern": "/*", "origin": "site", "cacheKey": { "headers": ["Host"] } }
              ]
            }
            """);
        try
        {
            var (exitCode, stderr) = await RunServerAsync("--config", config);
            Assert.Equal(2, exitCode);
            Assert.Contains("listen.adminPort", stderr, StringComparison.Ordinal);
            Assert.Contains("cache.maxObjectBytes", stderr, StringComparison.Ordinal);
            Assert.Contains("behaviors[0].origin: 'images' is not a configured origin", stderr, StringComparison.Ordinal);
            Assert.Contains("behaviors[0].minTtlSeconds", stderr, StringComparison.Ordinal);
            Assert.Contains("behaviors[1].pathPattern", stderr, StringComparison.Ordinal);
            Assert.Contains("behaviors[1].cacheKey.headers[0]", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task Unknown_fields_are_rejected_by_the_schema_with_their_path()
    {
        var config = Path.Combine(Path.GetTempPath(), $"edgecache-typo-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, """
            {
              "origins": [ { "id": "site", "type": "http", "url": "http://127.0.0.1:9", "timeoutMs": 5 } ],
              "behaviors": [ { "pathPattern": "*", "origin": "site", "defaultTTL": 5 } ]
            }
            """);
        try
        {
            var (exitCode, stderr) = await RunServerAsync("--config", config);
            Assert.Equal(2, exitCode);
            Assert.Contains("origins[0]", stderr, StringComparison.Ordinal);
            Assert.Contains("behaviors[0]", stderr, StringComparison.Ordinal);
            Assert.Contains("not a known field", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static async Task<(int ExitCode, string Stderr)> RunServerAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EdgeCache.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stderr);
    }
}
