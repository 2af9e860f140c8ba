using System.Diagnostics;
using EdgeCache.Disk;
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

    [Fact]
    public async Task Sigterm_with_a_disk_tier_and_a_response_outliving_the_grace_period_exits_0_and_leaves_the_tier_consistent()
    {
        // A large object (past the 8 MiB memory-object default) streams into a disk-tier temp file; its origin stops
        // after the first MiB and never finishes, so the response is still running when the grace period ends.
        var directory = Directory.CreateTempSubdirectory("edgecache-shutdown-").FullName;
        var large = CollapsingTests.RandomBytes(10 * 1024 * 1024, seed: 31);
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await using var origin = await TestOrigin.StartAsync(async ctx =>
            {
                ctx.Response.Headers.CacheControl = "max-age=600";
                if (ctx.Request.Path == "/small.txt")
                {
                    await ctx.Response.WriteAsync("small and whole");
                    return;
                }

                ctx.Response.ContentLength = large.Length;
                await ctx.Response.Body.WriteAsync(large.AsMemory(0, 1024 * 1024));
                await ctx.Response.Body.FlushAsync();
                stalled.TrySetResult();
                await never.Task.WaitAsync(ctx.RequestAborted);
            });

            await using (var node = await EdgeNodeProcess.StartAsync(origin.Url, gracePeriodSeconds: 1, diskDirectory: directory))
            {
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{node.ViewerPort}"), Timeout = TimeSpan.FromSeconds(30) };
                Assert.Equal("small and whole", await client.GetStringAsync("/small.txt"));
                // Written through to the disk tier in the background: wait for its entry file.
                await CachingTests.Eventually(() => Directory.EnumerateFiles(directory, "*.entry", SearchOption.AllDirectories).Any());

                using var inFlight = await client.GetAsync("/large.bin", HttpCompletionOption.ResponseHeadersRead);
                await stalled.Task.WaitAsync(TimeSpan.FromSeconds(10));
                using (var kill = Process.Start("kill", ["-TERM", node.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                {
                    await kill.WaitForExitAsync();
                }

                using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await node.Process.WaitForExitAsync(exit.Token);
                Assert.Equal(0, node.Process.ExitCode);
            }

            // Restarted on the same directory: the finished entry is served from disk, the cut-off one left nothing.
            await using var restarted = await EdgeNode.StartAsync(origin, o => o.Cache.Disk.Directory = directory);
            Assert.Equal(1, restarted.Get<DiskCacheStore>().Count);
            Assert.Empty(Directory.EnumerateFiles(directory, "*.tmp", SearchOption.AllDirectories));
            using var hit = await restarted.Viewer.GetAsync("/small.txt");
            Assert.Equal("Hit", hit.XCache());
            Assert.Equal("small and whole", await hit.Content.ReadAsStringAsync());
            Assert.Equal(1, origin.Count("/small.txt"));
        }
        finally
        {
            never.TrySetResult();
            Directory.Delete(directory, recursive: true);
        }
    }
}
