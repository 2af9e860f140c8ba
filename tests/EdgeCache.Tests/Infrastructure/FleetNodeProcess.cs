using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// An edge node process that follows the control bucket's invalidation log, with a disk tier of its own, as a pod
/// runs: it can be killed with SIGKILL and started again on the same ports and cache volume.
/// </summary>
public sealed class FleetNodeProcess : IAsyncDisposable
{
    private readonly string _config;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _log = new();
    private Process? _process;

    private FleetNodeProcess(string region, string node, string diskDirectory, string config, int viewerPort, int adminPort)
    {
        Region = region;
        Node = node;
        DiskDirectory = diskDirectory;
        _config = config;
        ViewerPort = viewerPort;
        AdminPort = adminPort;
        Viewer = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{viewerPort}"), Timeout = TimeSpan.FromSeconds(20) };
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(20) };
    }

    public string Region { get; }

    public string Node { get; }

    public string DiskDirectory { get; }

    public int ViewerPort { get; }

    public int AdminPort { get; }

    public HttpClient Viewer { get; }

    public HttpClient Admin { get; }

    public int ProcessId => _process?.Id ?? 0;

    /// <param name="probeIntervalSeconds">readiness.probeIntervalSeconds: how often origins are probed (edgecache_origin_up).</param>
    public static async Task<FleetNodeProcess> StartAsync(string region, string node, string originUrl, string controlBucketUrl, int heartbeatSeconds, int probeIntervalSeconds = 10)
    {
        var disk = Directory.CreateTempSubdirectory("fleet-node-disk-").FullName;
        var viewerPort = FreePort.Next();
        var adminPort = FreePort.Next();
        var config = Path.Combine(Path.GetTempPath(), $"edgecache-fleet-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(config, JsonSerializer.Serialize(new
        {
            node = new { name = "edge-test", region },
            listen = new { address = "127.0.0.1", viewerPort, adminPort },
            shutdown = new { gracePeriodSeconds = 2 },
            accessLog = new { enabled = false },
            cache = new { disk = new { directory = disk } },
            readiness = new { probeIntervalSeconds },
            invalidation = new
            {
                bucket = ControlBucketServer.BucketName,
                region = "us-east-1",
                serviceUrl = controlBucketUrl,
                pollSeconds = 1,
                heartbeatSeconds,
                startTimeoutSeconds = 30,
                nodeId = node,
            },
            origins = new[] { new { id = "origin", type = "http", url = originUrl } },
            behaviors = new[] { new { pathPattern = "*", origin = "origin" } },
        }));
        var fleetNode = new FleetNodeProcess(region, node, disk, config, viewerPort, adminPort);
        await fleetNode.StartAgainAsync();
        return fleetNode;
    }

    /// <summary>Starts the server on this node's config and disk tier; returns once its ports accept connections.</summary>
    public async Task StartAgainAsync()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EdgeCache.dll"));
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(_config);
        // The SDK's default credential chain reads these, as it reads the web-identity token on EKS.
        start.Environment["AWS_ACCESS_KEY_ID"] = S3rverProcess.AccessKey;
        start.Environment["AWS_SECRET_ACCESS_KEY"] = S3rverProcess.SecretKey;
        start.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        start.Environment["DOTNET_gcServer"] = "0";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Remember(e.Data);
        process.ErrorDataReceived += (_, e) => Remember(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!process.HasExited && DateTime.UtcNow < deadline && !await EdgeNodeProcess.CanConnectAsync(ViewerPort))
        {
            await Task.Delay(20);
        }

        Assert.False(process.HasExited, $"edge node {Region}/{Node} exited with {(process.HasExited ? process.ExitCode : 0)}:\n{RecentLog}");
        Assert.True(await EdgeNodeProcess.CanConnectAsync(ViewerPort), $"edge node {Region}/{Node} did not start:\n{RecentLog}");
    }

    /// <summary>The node's last log lines (JSON), for a failing test's message.</summary>
    public string RecentLog => string.Join('\n', _log);

    private void Remember(string? line)
    {
        if (line is not null)
        {
            _log.Enqueue(line);
            while (_log.Count > 100)
            {
                _log.TryDequeue(out _);
            }
        }
    }

    /// <summary>SIGKILL: no shutdown, nothing flushed, as when a pod's container is killed.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var kill = Process.Start("kill", ["-KILL", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await process.WaitForExitAsync();
        }
    }

    /// <summary>A gauge or counter from /metrics (the sum over its series that contain <paramref name="labels"/>).</summary>
    public async Task<double> MetricAsync(string name, string labels = "")
    {
        var text = await Admin.GetStringAsync("/metrics");
        var sum = 0.0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && (line.Length > name.Length && line[name.Length] is ' ' or '{') && line.Contains(labels, StringComparison.Ordinal))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    public async Task<JsonElement> ReadinessAsync()
    {
        using var response = await Admin.GetAsync("/readyz");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Viewer.Dispose();
        Admin.Dispose();
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        File.Delete(_config);
        try
        {
            Directory.Delete(DiskDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
