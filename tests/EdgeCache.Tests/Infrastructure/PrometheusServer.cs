using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// Debian's Prometheus server on loopback, with its own config, rule file and data directory, for as long as a test
/// needs it; queried through its HTTP API as Grafana and the alerting would.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>The path of an installed Prometheus binary, or null.</summary>
    public static string? Binary(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':')
            .Append("/usr/bin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Starts Prometheus on <paramref name="configYaml"/> (which may name <c>rules.yml</c>, written from
    /// <paramref name="rulesYaml"/> beside it), after importing <paramref name="backfill"/> (OpenMetrics text) into its
    /// data directory with promtool, so a query can reach samples older than the server.
    /// </summary>
    public static async Task<PrometheusServer> StartAsync(string configYaml, string rulesYaml, string? backfill = null)
    {
        var directory = Directory.CreateTempSubdirectory("prometheus-e2e-").FullName;
        var data = Path.Combine(directory, "data");
        Directory.CreateDirectory(data);
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), configYaml);
        await File.WriteAllTextAsync(Path.Combine(directory, "rules.yml"), rulesYaml);
        var check = await RunAsync(Binary("promtool")!, "check", "config", Path.Combine(directory, "prometheus.yml"));
        Assert.True(check.Exit == 0, "promtool check config: " + check.Output);
        if (backfill is not null)
        {
            var input = Path.Combine(directory, "backfill.om");
            await File.WriteAllTextAsync(input, backfill);
            var created = await RunAsync(Binary("promtool")!, "tsdb", "create-blocks-from", "openmetrics", input, data);
            Assert.True(created.Exit == 0, "promtool tsdb create-blocks-from openmetrics: " + created.Output);
        }

        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var start = new ProcessStartInfo(Binary("prometheus")!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
            foreach (var arg in (string[])[
                "--config.file=" + Path.Combine(directory, "prometheus.yml"),
                "--storage.tsdb.path=" + data,
                $"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn"])
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new PrometheusServer(process, directory, port);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!process.HasExited && DateTime.UtcNow < deadline)
            {
                try
                {
                    using var ready = await server._http.GetAsync("/-/ready");
                    if (ready.IsSuccessStatusCode)
                    {
                        return server;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }

                await Task.Delay(100);
            }

            await server.StopAsync();
            server._http.Dispose();
            Assert.True(attempt < 3, "prometheus did not start");
        }
    }

    /// <summary>An instant query now: the result vector's series (labels and value); fails on a query error.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promQl)
    {
        using var response = await _http.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(promQl));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.True(root.GetProperty("status").GetString() == "success", $"query failed: {promQl}\n{root}");
        var data = root.GetProperty("data");
        Assert.Equal("vector", data.GetProperty("resultType").GetString());
        return [.. data.GetProperty("result").EnumerateArray().Select(series => (
            (IReadOnlyDictionary<string, string>)series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal),
            double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))];
    }

    /// <summary>The label sets of the alerts now firing, by alert name.</summary>
    public async Task<ILookup<string, IReadOnlyDictionary<string, string>>> FiringAsync()
    {
        using var json = await _http.GetFromJsonAsync<JsonDocument>("/api/v1/alerts");
        return json!.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray()
            .Where(alert => alert.GetProperty("state").GetString() == "firing")
            .Select(alert => (IReadOnlyDictionary<string, string>)alert.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal))
            .ToLookup(labels => labels["alertname"], StringComparer.Ordinal);
    }

    /// <summary>Each alerting rule's name, health ("ok" once evaluated without error) and last error.</summary>
    public async Task<IReadOnlyList<(string Name, string Health, string Error)>> RulesAsync()
    {
        using var json = await _http.GetFromJsonAsync<JsonDocument>("/api/v1/rules?type=alert");
        return [.. json!.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray()
            .SelectMany(group => group.GetProperty("rules").EnumerateArray())
            .Select(rule => (
                rule.GetProperty("name").GetString()!,
                rule.GetProperty("health").GetString()!,
                rule.TryGetProperty("lastError", out var error) ? error.GetString() ?? "" : ""))];
    }

    /// <summary>The values of <paramref name="label"/> over the series matching <paramref name="match"/> (Grafana's label_values).</summary>
    public async Task<IReadOnlyList<string>> LabelValuesAsync(string label, string match)
    {
        using var json = await _http.GetFromJsonAsync<JsonDocument>($"/api/v1/label/{label}/values?match[]={Uri.EscapeDataString(match)}");
        return [.. json!.RootElement.GetProperty("data").EnumerateArray().Select(v => v.GetString()!)];
    }

    public static async Task<(int Exit, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }

    private async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
