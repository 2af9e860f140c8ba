using System.Diagnostics;
using System.Net.Sockets;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>SIGTERM on the real server process: stop accepting, finish the response in flight, exit 0.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_lets_a_slow_in_flight_response_complete_and_refuses_new_connections()
    {
        var finish = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.ContentLength = 10;
            await ctx.Response.WriteAsync("slow-");
            await ctx.Response.Body.FlushAsync();
            started.TrySetResult();
            await finish.Task;
            await ctx.Response.WriteAsync("done!");
        });

        // Ports are picked free for a child process and could be taken before it binds: start again with new ones.
        var (server, config, viewerPort, _) = await StartServerAsync(origin.Url);
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{viewerPort}"), Timeout = TimeSpan.FromSeconds(30) };

            var inFlight = client.GetStringAsync("/slow");
            await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            // It stops accepting while the response is still in flight...
            await CachingTests.Eventually(async () => !await CanConnect(viewerPort));
            Assert.False(inFlight.IsCompleted);

            // ...and that response still completes, whole.
            finish.SetResult();
            Assert.Equal("slow-done!", await inFlight);
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await server.WaitForExitAsync(exit.Token);
            Assert.Equal(0, server.ExitCode);
        }
        finally
        {
            if (!server.HasExited)
            {
                server.Kill(entireProcessTree: true);
            }

            server.Dispose();
            File.Delete(config);
        }
    }

    private static async Task<(Process Server, string Config, int ViewerPort, int AdminPort)> StartServerAsync(string originUrl)
    {
        for (var attempt = 1; ; attempt++)
        {
            var viewerPort = FreePort.Next();
            var adminPort = FreePort.Next();
            var config = Path.Combine(Path.GetTempPath(), $"edgecache-shutdown-{Guid.NewGuid():N}.json");
            await File.WriteAllTextAsync(config, $$"""
                {
                  "listen": { "address": "127.0.0.1", "viewerPort": {{viewerPort}}, "adminPort": {{adminPort}} },
                  "shutdown": { "gracePeriodSeconds": 20 },
                  "accessLog": { "enabled": false },
                  "origins": [ { "id": "origin", "type": "http", "url": "{{originUrl}}" } ],
                  "behaviors": [ { "pathPattern": "*", "origin": "origin" } ]
                }
                """);
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EdgeCache.dll"));
            start.ArgumentList.Add("--config");
            start.ArgumentList.Add(config);
            var server = Process.Start(start)!;
            _ = server.StandardOutput.ReadToEndAsync();
            _ = server.StandardError.ReadToEndAsync();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (!server.HasExited && DateTime.UtcNow < deadline && !await CanConnect(adminPort))
            {
                await Task.Delay(50);
            }

            if (!server.HasExited && await CanConnect(adminPort))
            {
                return (server, config, viewerPort, adminPort);
            }

            File.Delete(config);
            server.Dispose();
            Assert.True(attempt < 3, "the edge node process did not start");
        }
    }

    private static async Task<bool> CanConnect(int port)
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
}
