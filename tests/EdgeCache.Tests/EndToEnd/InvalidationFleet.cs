using System.Collections.Concurrent;
using Amazon.S3;
using EdgeCache.InvalidationLog;
using EdgeCache.Tests.Infrastructure;
using EdgeCdn;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// A fleet as production runs it, on loopback: s3rver as the control bucket, one origin, and four edge node processes
/// in two regions, each with its own disk tier, polling every second. Shared by <see cref="InvalidationFleetTests"/>,
/// which use paths of their own so they do not see each other's objects.
/// </summary>
public sealed class InvalidationFleet : IAsyncLifetime
{
    public const int HeartbeatSeconds = 5;

    private readonly ConcurrentDictionary<string, int> _versions = new(StringComparer.Ordinal);
    private AmazonS3Client? _client;

    public ControlBucketServer ControlBucket { get; private set; } = null!;

    public ControlBucket Log { get; private set; } = null!;

    public TestOrigin Origin { get; private set; } = null!;

    public IReadOnlyList<FleetNodeProcess> Nodes { get; private set; } = [];

    public async Task InitializeAsync()
    {
        // The in-process edgecdn signs with the SDK's default chain, as an operator's does.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.SecretKey);
        ControlBucket = await ControlBucketServer.StartAsync();
        Log = ControlBucket.CreateBucket(out _client);
        Origin = await TestOrigin.StartAsync(async context =>
        {
            var path = context.Request.Path.Value ?? "/";
            context.Response.Headers.CacheControl = "max-age=3600";
            await context.Response.WriteAsync($"{path} v{_versions.GetValueOrDefault(path, 1)}");
        });
        Nodes = await Task.WhenAll(
            FleetNodeProcess.StartAsync("eu-test", "eu-1", Origin.Url, ControlBucket.ServiceUrl, HeartbeatSeconds),
            FleetNodeProcess.StartAsync("eu-test", "eu-2", Origin.Url, ControlBucket.ServiceUrl, HeartbeatSeconds),
            FleetNodeProcess.StartAsync("us-test", "us-1", Origin.Url, ControlBucket.ServiceUrl, HeartbeatSeconds),
            FleetNodeProcess.StartAsync("us-test", "us-2", Origin.Url, ControlBucket.ServiceUrl, HeartbeatSeconds));
        await EventuallyAsync(async () => (await Log.ReadHeartbeatsAsync(CancellationToken.None)).Count(h => h.IsAlive(DateTimeOffset.UtcNow)) == Nodes.Count, "every node's heartbeat", seconds: 60,
            context: () => string.Join("\n", Nodes.Select(n => $"{n.Region}/{n.Node}:\n{n.RecentLog}")));
    }

    /// <summary>The body the origin now sends for <paramref name="path"/>: "/path vN".</summary>
    public string Body(string path) => $"{path} v{_versions.GetValueOrDefault(path, 1)}";

    public void Change(string path) => _versions.AddOrUpdate(path, 2, (_, v) => v + 1);

    /// <summary>Every node fetches <paramref name="path"/> and then has it cached (a hit), in memory and on disk.</summary>
    public async Task WarmAsync(string path, IEnumerable<FleetNodeProcess>? nodes = null)
    {
        foreach (var node in nodes ?? Nodes)
        {
            var before = await node.MetricAsync("edgecache_disk_stored_objects");
            using (var miss = await node.Viewer.GetAsync(path))
            {
                Assert.Equal(Body(path), await miss.Content.ReadAsStringAsync());
            }

            using (var hit = await node.Viewer.GetAsync(path))
            {
                Assert.Equal("Hit", hit.XCache());
            }

            await EventuallyAsync(async () => await node.MetricAsync("edgecache_disk_stored_objects") > before, $"{path} written to {node.Node}'s disk tier");
        }
    }

    /// <summary>edgecdn in-process, pointed at the control bucket unless <paramref name="withEndpoint"/> is false.</summary>
    public async Task<(int Exit, string Out, string Error)> EdgeCdnAsync(string[] args, bool withEndpoint = true, string? pulumi = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var console = new ToolConsole { Out = TextWriter.Synchronized(output), Error = TextWriter.Synchronized(error), AckPollInterval = TimeSpan.FromMilliseconds(100), Pulumi = pulumi ?? "pulumi" };
        string[] location = withEndpoint ? ["--endpoint", ControlBucket.ServiceUrl, "--bucket", ControlBucketServer.BucketName] : [];
        var exit = await EdgeCdnApp.RunAsync([.. location, .. args], console);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>The id edgecdn invalidate printed on its first line.</summary>
    public static string IdFrom(string output)
    {
        var first = output.Split('\n')[0];
        Assert.StartsWith("Invalidation ", first);
        return first["Invalidation ".Length..first.IndexOf(':', StringComparison.Ordinal)];
    }

    public async Task<HashSet<(string Region, string Node)>> AcksAsync(string id) => await Log.ListAcksAsync(id, CancellationToken.None);

    /// <summary>
    /// Waits for <paramref name="condition"/>. A condition that throws (a read of an object s3rver is rewriting, a node
    /// still starting) counts as not yet; the last error is in the message if the time runs out.
    /// </summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 15, Func<string>? context = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                last = ex;
            }

            Assert.True(DateTime.UtcNow < deadline, $"not within {seconds} s: {what}{(last is null ? "" : $" (last error: {last.Message})")}{(context is null ? "" : "\n" + context())}");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(Nodes.Select(n => n.DisposeAsync().AsTask()));
        await Origin.DisposeAsync();
        _client?.Dispose();
        await ControlBucket.DisposeAsync();
    }
}
