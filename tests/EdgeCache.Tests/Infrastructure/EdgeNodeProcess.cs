using System.Diagnostics;
using System.Net.Sockets;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// The server binary (EdgeCache.dll next to the tests) in its own process, as it runs in production: its own runtime
/// settings, signals, exit code. One http origin and the default behavior; the access log off.
/// </summary>
public sealed class EdgeNodeProcess : IAsyncDisposable
{
    private readonly string _config;

    private EdgeNodeProcess(Process process, string config, int viewerPort, int adminPort)
    {
        Process = process;
        _config = config;
        ViewerPort = viewerPort;
        AdminPort = adminPort;
    }

    public Process Process { get; }

    public int ViewerPort { get; }

    public int AdminPort { get; }

    /// <param name="gracePeriodSeconds">shutdown.gracePeriodSeconds: how long SIGTERM lets responses in flight finish.</param>
    /// <param name="diskDirectory">cache.disk.directory, for a node with a disk tier; none by default.</param>
    /// <param name="memoryBytes">cache.memoryBytes; the default otherwise.</param>
    /// <param name="environment">Variables for the process (the runtime's GC settings, say).</param>
    /// <param name="wrap">Turns the command line into the one started through sh, e.g. to join a cgroup first.</param>
    public static async Task<EdgeNodeProcess> StartAsync(
        string originUrl,
        int gracePeriodSeconds = 20,
        string? diskDirectory = null,
        long? memoryBytes = null,
        IReadOnlyDictionary<string, string>? environment = null,
        Func<IEnumerable<string>, IEnumerable<string>>? wrap = null)
    {
        var disk = diskDirectory is null ? "" : $$""", "disk": { "directory": {{System.Text.Json.JsonSerializer.Serialize(diskDirectory)}} }""";
        var tier = memoryBytes is null ? "" : $$""", "memoryBytes": {{memoryBytes}}""";
        var cache = $$"""
            "cache": { "maxVariantsPerUrl": 32{{tier}}{{disk}} },
            """;
        // Ports are picked free for a child process and could be taken before it binds: start again with new ones.
        for (var attempt = 1; ; attempt++)
        {
            var viewerPort = FreePort.Next();
            var adminPort = FreePort.Next();
            var config = Path.Combine(Path.GetTempPath(), $"edgecache-process-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(config, $$"""
                {
                  "listen": { "address": "127.0.0.1", "viewerPort": {{viewerPort}}, "adminPort": {{adminPort}} },
                  "shutdown": { "gracePeriodSeconds": {{gracePeriodSeconds}} },
                  "accessLog": { "enabled": false },
                  {{cache}}
                  "origins": [ { "id": "origin", "type": "http", "url": "{{originUrl}}" } ],
                  "behaviors": [ { "pathPattern": "*", "origin": "origin" } ]
                }
                """);
            IEnumerable<string> command = ["dotnet", Path.Combine(AppContext.BaseDirectory, "EdgeCache.dll"), "--config", config];
            if (wrap is not null)
            {
                command = ["sh", .. wrap(command)];
            }

            var start = new ProcessStartInfo(command.First()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in command.Skip(1))
            {
                start.ArgumentList.Add(arg);
            }

            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                start.Environment[name] = value;
            }

            var server = Process.Start(start)!;
            _ = server.StandardOutput.ReadToEndAsync();
            _ = server.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (!server.HasExited && DateTime.UtcNow < deadline && !await CanConnectAsync(adminPort))
            {
                await Task.Delay(50);
            }

            if (!server.HasExited && await CanConnectAsync(adminPort))
            {
                return new EdgeNodeProcess(server, config, viewerPort, adminPort);
            }

            File.Delete(config);
            server.Dispose();
            Assert.True(attempt < 3, "the edge node process did not start");
        }
    }

    public static async Task<bool> CanConnectAsync(int port)
    {
        try
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync();
        }

        Process.Dispose();
        File.Delete(_config);
    }
}
