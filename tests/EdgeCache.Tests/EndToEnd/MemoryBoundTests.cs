using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using EdgeCache.Tests.Infrastructure;
using Xunit.Abstractions;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// The node as a pod runs it: its own process in a memory cgroup with the limit the Pulumi program's rule accepts and
/// the GC settings the program gives it (components/config/runtime.ts). A unique-key flood fills the memory tier many
/// times over; the node must never be killed, and stay within its limit.
/// </summary>
[Collection(MemoryAccountingCollection.Name)]
public sealed class MemoryBoundTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;
    private const long Tier = 64 * MiB;

    [MemoryCgroupFact]
    public async Task A_unique_key_flood_never_gets_the_node_killed_in_the_smallest_container_the_rule_accepts()
    {
        // A 112 MiB container with a 64 MiB tier, OOM-killed within 10 s: the rule now asks for
        // the runtime's reserve and the heap's headroom beside the tier, and the heap is told its limit. 2 CPUs: server
        // GC with two heaps, whose larger allocation budgets made the higher peaks.
        var pod = PodSettings(Tier, cpuMillicores: 2000);
        output.WriteLine($"limit {pod.Limit / MiB} MiB, env {string.Join(" ", pod.Env.Select(e => $"{e.Key}={e.Value}"))}");
        var body = new byte[1024];
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "public, max-age=3600";
            ctx.Response.ContentType = "application/octet-stream";
            ctx.Response.ContentLength = body.Length;
            return ctx.Response.Body.WriteAsync(body).AsTask();
        });
        using var group = MemoryCgroup.Create(pod.Limit);
        await using var node = await EdgeNodeProcess.StartAsync(origin.Url, memoryBytes: Tier, environment: pod.Env, wrap: group.Wrap);

        using var viewer = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{node.ViewerPort}"),
            Timeout = TimeSpan.FromSeconds(10),
        };
        var peak = new Peaks();
        using var flooding = new CancellationTokenSource(TimeSpan.FromSeconds(18));
        var sampler = Task.Run(async () =>
        {
            while (!flooding.IsCancellationRequested && !node.Process.HasExited)
            {
                peak.Sample(node.Process.Id);
                await Task.Delay(100);
            }
        });
        var statuses = new int[600];
        long requests = 0, failures = 0;
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var clients = Enumerable.Range(0, 32).Select(c => Task.Run(async () =>
        {
            for (var i = 0; !flooding.IsCancellationRequested && !node.Process.HasExited; i++)
            {
                try
                {
                    using var response = await viewer.GetAsync($"/flood/{prefix}-{c}-{i}", HttpCompletionOption.ResponseContentRead, CancellationToken.None);
                    Interlocked.Increment(ref statuses[(int)response.StatusCode]);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failures);
                }

                Interlocked.Increment(ref requests);
            }
        })).ToList();
        await Task.WhenAll(clients);
        await sampler;
        peak.Sample(node.Process.Id);

        var stored = requests * 2720 / MiB;
        output.WriteLine($"{requests} requests in 18 s (~{stored} MiB counted by the tier: {stored / (Tier / MiB)}× its size), {statuses[200]} × 200, {failures} failed");
        output.WriteLine($"peak RSS {peak.Rss / MiB} MiB (anon {peak.Anon / MiB}, shmem {peak.Shmem / MiB}, file {peak.File / MiB}); cgroup peak {group.MaxUsage / MiB} MiB of {pod.Limit / MiB}; failcnt {group.FailCount}, OOM kills {group.OomKills}");
        Assert.False(node.Process.HasExited, $"the node exited with {(node.Process.HasExited ? node.Process.ExitCode : 0)}");
        Assert.Equal(0, group.OomKills);
        Assert.True(requests * 2720 > 2 * Tier, $"only {requests} requests: the tier was not filled twice over, so this proved nothing");
        Assert.Equal(requests, statuses[200]);
        Assert.True(peak.Rss < pod.Limit, $"peak RSS {peak.Rss / MiB} MiB is not under the {pod.Limit / MiB} MiB limit");

        // Still serving, from the cache.
        (await viewer.GetAsync($"/after/{prefix}")).Dispose();
        using var hit = await viewer.GetAsync($"/after/{prefix}");
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("Hit", hit.XCache());
    }

    [MemoryCgroupFact]
    public async Task A_node_whose_tier_does_not_fit_its_container_exits_2_with_one_line_naming_the_field()
    {
        using var group = MemoryCgroup.Create(112 * MiB);
        var start = new ProcessStartInfo("sh") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        var config = Path.Combine(Path.GetTempPath(), $"edgecache-small-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "listen": { "address": "127.0.0.1", "viewerPort": {{FreePort.Next()}}, "adminPort": {{FreePort.Next()}} },
              "cache": { "memoryBytes": {{Tier}} },
              "origins": [ { "id": "o", "type": "http", "url": "http://127.0.0.1:9" } ],
              "behaviors": [ { "pathPattern": "*", "origin": "o" } ]
            }
            """);
        try
        {
            foreach (var arg in group.Wrap(["dotnet", Path.Combine(AppContext.BaseDirectory, "EdgeCache.dll"), "--config", config]))
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

            Assert.Equal(2, process.ExitCode);
            var line = Assert.Single((await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("cache.memoryBytes: the container's memory limit of 112 MiB", line, StringComparison.Ordinal);
            Assert.Contains(group.Path, line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
    }

    /// <summary>The limit the rule accepts for this tier (its minimum) and the environment the program gives such a pod.</summary>
    private static (long Limit, Dictionary<string, string> Env) PodSettings(long tier, int cpuMillicores)
    {
        var script = "const r = require('./components/config/runtime');"
            + $"const limit = r.minimumMemoryLimitBytes({tier});"
            + $"console.log(JSON.stringify({{ limit, env: r.edgeRuntimeSettings({{ memoryLimitBytes: limit, cpuLimitMillicores: {cpuMillicores}, memoryTierBytes: {tier} }}).env }}));";
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot.Path };
        foreach (var arg in new[] { "--import", "tsx", "-e", script })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"the Pulumi program's formula did not run (npm ci at the repository root installs tsx): {stderr}");
        using var json = JsonDocument.Parse(stdout);
        var env = json.RootElement.GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        return (json.RootElement.GetProperty("limit").GetInt64(), env);
    }

    /// <summary>The largest figures seen: the process's resident memory by kind, from /proc/PID/status.</summary>
    private sealed class Peaks
    {
        public long Rss { get; private set; }

        public long Anon { get; private set; }

        public long Shmem { get; private set; }

        public long File { get; private set; }

        public void Sample(int pid)
        {
            string[] lines;
            try
            {
                lines = System.IO.File.ReadAllLines($"/proc/{pid}/status");
            }
            catch (IOException)
            {
                return;
            }

            long Kib(string field) => lines.Where(l => l.StartsWith(field + ":", StringComparison.Ordinal))
                .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024).FirstOrDefault();
            Rss = Math.Max(Rss, Kib("VmRSS"));
            Anon = Math.Max(Anon, Kib("RssAnon"));
            Shmem = Math.Max(Shmem, Kib("RssShmem"));
            File = Math.Max(File, Kib("RssFile"));
        }
    }
}
