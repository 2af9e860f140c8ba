using System.Text.Json;
using EdgeCache.Configuration;
using EdgeCache.Invalidation;
using EdgeCache.InvalidationLog;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>An edge node's start with the invalidation log: caught up before viewers, or serving anyway after the timeout.</summary>
[Collection(S3Collection.Name)]
public sealed class InvalidationStartupTests
{
    public InvalidationStartupTests()
    {
        // The SDK's default credential chain reads these, as it reads the web-identity token on EKS.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.SecretKey);
    }

    [Fact]
    public async Task The_node_answers_viewers_only_after_reading_the_log()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var controlBucket = await TestOrigin.StartAsync(async context =>
        {
            asked.TrySetResult();
            await gate.Task;
            await AnswerEmptyLogAsync(context);
        });
        await using var origin = await TestOrigin.StartAsync();
        var viewerPort = 0;

        var starting = EdgeNode.StartAsync(origin, options =>
        {
            viewerPort = options.Listen.ViewerPort;
            Follow(options, controlBucket.Url, startTimeoutSeconds: 60);
        });
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.False(await EdgeNodeProcess.CanConnectAsync(viewerPort));
        gate.SetResult();
        await using var node = await starting.WaitAsync(TimeSpan.FromSeconds(20));
        using var response = await node.Viewer.GetAsync("/");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var status = node.Get<InvalidationFollower>().Status();
        Assert.True(status.CaughtUpAtStart);
        Assert.True(status.ControlBucketReachable);
    }

    [Fact]
    public async Task A_log_that_cannot_be_read_within_the_start_timeout_delays_viewers_no_longer_and_is_reported_as_lag()
    {
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var controlBucket = await TestOrigin.StartAsync(async context =>
        {
            asked.TrySetResult();
            context.Response.StatusCode = 503;
            await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message><RequestId>T</RequestId></Error>");
        });
        await using var origin = await TestOrigin.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);

        var starting = EdgeNode.StartAsync(origin, options => Follow(options, controlBucket.Url, startTimeoutSeconds: 5), configureServices: services => services.AddSingleton<TimeProvider>(time));
        await asked.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(starting.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(5));
        await using var node = await starting.WaitAsync(TimeSpan.FromSeconds(20));

        using var response = await node.Viewer.GetAsync("/");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var readiness = await node.Admin.GetAsync("/readyz");
        Assert.Equal(System.Net.HttpStatusCode.OK, readiness.StatusCode);
        var invalidation = JsonDocument.Parse(await readiness.Content.ReadAsStringAsync()).RootElement.GetProperty("invalidation");
        Assert.False(invalidation.GetProperty("caughtUpAtStart").GetBoolean());
        Assert.False(invalidation.GetProperty("controlBucketReachable").GetBoolean());
        Assert.True(invalidation.GetProperty("lagSeconds").GetDouble() >= 5);
        var metrics = await node.Admin.GetStringAsync("/metrics");
        Assert.Contains("edgecache_invalidation_lag_seconds 5", metrics);
    }

    [Fact]
    public async Task A_restarted_node_applies_what_was_made_while_it_was_down_and_nothing_twice()
    {
        await using var control = await ControlBucketServer.StartAsync();
        var log = control.CreateBucket(out var client);
        using var _ = client;
        var writer = new InvalidationWriter(log, TimeProvider.System);
        var disk = Directory.CreateTempSubdirectory("follower-restart-").FullName;
        await using var origin = await TestOrigin.StartAsync();
        try
        {
            var first = await writer.WriteAsync(Paths("/first.js"), "test", CancellationToken.None);
            await using (var node = await EdgeNode.StartAsync(origin, options => Follow(options, control.ServiceUrl, 30, disk)))
            {
                Assert.Equal(1, await AppliedAsync(node));
                Assert.Equal(first.Id, node.Get<InvalidationFollower>().Status().LastAppliedId);
                await InvalidationFleet.EventuallyAsync(async () => (await log.ListAcksAsync(first.Id, CancellationToken.None)).Contains(("eu-test", "n1")), "the ack");
            }

            Assert.True(File.Exists(Path.Combine(disk, FollowerStateStore.FileName)));
            var second = await writer.WriteAsync(Paths("/second.js"), "test", CancellationToken.None);
            await using (var node = await EdgeNode.StartAsync(origin, options => Follow(options, control.ServiceUrl, 30, disk)))
            {
                // Only the one it missed: the first is in the state on its cache volume.
                Assert.Equal(1, await AppliedAsync(node));
                Assert.Equal(second.Id, node.Get<InvalidationFollower>().Status().LastAppliedId);
                await InvalidationFleet.EventuallyAsync(async () => (await log.ListAcksAsync(second.Id, CancellationToken.None)).Contains(("eu-test", "n1")), "the ack");
            }
        }
        finally
        {
            Directory.Delete(disk, recursive: true);
        }
    }

    private static InvalidationTarget Paths(string path)
    {
        Assert.True(InvalidationTarget.TryCreate([path], null, null, false, out var target, out _));
        return target;
    }

    private static async Task<double> AppliedAsync(EdgeNode node)
    {
        var line = (await node.Admin.GetStringAsync("/metrics")).Split('\n').Single(l => l.StartsWith("edgecache_invalidation_applied_total ", StringComparison.Ordinal));
        return double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Follow(EdgeCacheOptions options, string serviceUrl, int startTimeoutSeconds, string? disk = null)
    {
        options.Node.Region = "eu-test";
        options.Cache.Disk.Directory = disk;
        options.Invalidation = new InvalidationOptions
        {
            Bucket = ControlBucketServer.BucketName,
            Region = "us-east-1",
            ServiceUrl = serviceUrl,
            StartTimeoutSeconds = startTimeoutSeconds,
            NodeId = "n1",
        };
    }

    /// <summary>As S3 answers for a log nobody has written to yet: no head, no records; writes accepted.</summary>
    private static async Task AnswerEmptyLogAsync(HttpContext context)
    {
        context.Response.ContentType = "application/xml";
        if (HttpMethods.IsPut(context.Request.Method))
        {
            context.Response.Headers.ETag = "\"0\"";
            return;
        }

        if (context.Request.Query.ContainsKey("list-type"))
        {
            await context.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{ControlBucketServer.BucketName}</Name><Prefix>invalidations/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>");
            return;
        }

        context.Response.StatusCode = 404;
        await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>T</RequestId></Error>");
    }
}
