using System.Diagnostics;
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

        await using var node = await EdgeNodeProcess.StartAsync(origin.Url);
        var server = node.Process;
        var viewerPort = node.ViewerPort;
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{viewerPort}"), Timeout = TimeSpan.FromSeconds(30) };

        var inFlight = client.GetStringAsync("/slow");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        // It stops accepting while the response is still in flight...
        await CachingTests.Eventually(async () => !await EdgeNodeProcess.CanConnectAsync(viewerPort));
        Assert.False(inFlight.IsCompleted);

        // ...and that response still completes, whole.
        finish.SetResult();
        Assert.Equal("slow-done!", await inFlight);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await server.WaitForExitAsync(exit.Token);
        Assert.Equal(0, server.ExitCode);
    }
}
