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

    [Fact]
    public async Task An_environment_override_meets_the_schema_and_a_misspelt_one_is_named()
    {
        var config = await WriteConfigAsync("127.0.0.1", FreePort.Next(), FreePort.Next());
        try
        {
            var (exitCode, stderr, _) = await RunServerAsync(
                new Dictionary<string, string> { ["EDGECACHE_Cache__MemoryByte"] = "1", ["EDGECACHE_Node__Name"] = "edgé" }, "--config", config);
            Assert.Equal(2, exitCode);
            Assert.Contains("EDGECACHE_Cache__MemoryByte: is not a known field", stderr, StringComparison.Ordinal);
            Assert.Contains("node.name: ", stderr, StringComparison.Ordinal);
            Assert.Contains("EDGECACHE_Node__Name", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task A_fast_path_switch_that_is_neither_on_nor_off_exits_2_with_one_line_naming_it()
    {
        var config = await WriteConfigAsync("127.0.0.1", FreePort.Next(), FreePort.Next());
        try
        {
            var (exitCode, stderr, _) = await RunServerAsync(new Dictionary<string, string> { ["EDGECACHE_FAST_PATH"] = "no" }, "--config", config);

            Assert.Equal(2, exitCode);
            var line = Assert.Single(stderr.Split('\n'), l => l.Contains("EDGECACHE_FAST_PATH", StringComparison.Ordinal));
            Assert.Contains("EDGECACHE_FAST_PATH: 'no' is not 'on' or 'off'", line, StringComparison.Ordinal);
            Assert.DoesNotContain(" at ", stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Theory]
    [InlineData("viewer")]
    [InlineData("admin")]
    public async Task A_port_in_use_exits_2_with_one_line_naming_the_port(string which)
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var busy = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var viewerPort = which == "viewer" ? busy : FreePort.Next();
        var adminPort = which == "admin" ? busy : FreePort.Next();
        var config = await WriteConfigAsync("127.0.0.1", viewerPort, adminPort);
        try
        {
            var (exitCode, stderr, stdout) = await RunServerAsync([], "--config", config);
            Assert.Equal(2, exitCode);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"listen.{which}Port: ", line, StringComparison.Ordinal);
            Assert.Contains($"127.0.0.1:{busy}", line, StringComparison.Ordinal);
            Assert.Contains("in use", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task A_port_an_IPv4_listener_holds_is_in_use_for_a_node_on_all_IPv6_and_IPv4_addresses()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Any, 0);
        taken.Start();
        var busy = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var config = await WriteConfigAsync("::", busy, FreePort.Next());
        try
        {
            var (exitCode, stderr, _) = await RunServerAsync(new Dictionary<string, string>(), "--config", config);
            Assert.Equal(2, exitCode);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("listen.viewerPort: ", line, StringComparison.Ordinal);
            Assert.Contains($"[::]:{busy}", line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public async Task An_address_not_on_this_machine_exits_2_with_one_line_naming_it()
    {
        // 192.0.2.0/24 is reserved for documentation (RFC 5737): no machine has it.
        var config = await WriteConfigAsync("192.0.2.45", FreePort.Next(), FreePort.Next());
        try
        {
            var (exitCode, stderr, stdout) = await RunServerAsync(new Dictionary<string, string>(), "--config", config);
            Assert.Equal(2, exitCode);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("listen.address: ", line, StringComparison.Ordinal);
            Assert.Contains("192.0.2.45", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static async Task<string> WriteConfigAsync(string address, int viewerPort, int adminPort)
    {
        var config = Path.Combine(Path.GetTempPath(), $"edgecache-start-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "listen": { "address": "{{address}}", "viewerPort": {{viewerPort}}, "adminPort": {{adminPort}} },
              "accessLog": { "enabled": false },
              "origins": [ { "id": "site", "type": "http", "url": "http://127.0.0.1:9" } ],
              "behaviors": [ { "pathPattern": "*", "origin": "site" } ]
            }
            """);
        return config;
    }

    private static async Task<(int ExitCode, string Stderr)> RunServerAsync(params string[] args)
    {
        var (exitCode, stderr, _) = await RunServerAsync(new Dictionary<string, string>(), args);
        return (exitCode, stderr);
    }

    private static async Task<(int ExitCode, string Stderr, string Stdout)> RunServerAsync(Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EdgeCache.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stderr, await stdout);
    }
}
