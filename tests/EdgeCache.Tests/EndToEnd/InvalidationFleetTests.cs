using System.Text;
using Amazon.S3.Model;
using EdgeCache.InvalidationLog;
using EdgeCache.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// The fleet's invalidation log end to end: edge node processes in two regions following s3rver as the control bucket,
/// and edgecdn writing to it and waiting for their acks.
/// </summary>
[Collection(InvalidationFleetCollection.Name)]
public sealed class InvalidationFleetTests(InvalidationFleet fleet)
{
    [Fact]
    public async Task Invalidate_returns_once_every_node_has_acked_and_no_node_serves_the_old_object()
    {
        const string Path = "/fleet/app.js";
        await fleet.WarmAsync(Path);
        fleet.Change(Path);

        var (exit, output, error) = await fleet.EdgeCdnAsync(["invalidate", Path, "--timeout", "30s"]);

        Assert.True(exit == 0, output + error);
        Assert.Contains("all 4 live nodes acked (eu-test 2/2, us-test 2/2)", output);
        var id = InvalidationFleet.IdFrom(output);
        Assert.Equal(4, (await fleet.AcksAsync(id)).Count);
        foreach (var node in fleet.Nodes)
        {
            using var response = await node.Viewer.GetAsync(Path);
            Assert.Equal(fleet.Body(Path), await response.Content.ReadAsStringAsync());
            Assert.Equal("Miss", response.XCache());
        }

        // What edgecdn shows afterwards: the fleet, and the invalidation node by node.
        var nodes = await fleet.EdgeCdnAsync(["nodes"]);
        Assert.Equal(0, nodes.Exit);
        Assert.Contains("live nodes in 2 regions", nodes.Out);
        Assert.All(fleet.Nodes, n => Assert.Contains($"{n.Region}   {n.Node}", nodes.Out));
        var show = await fleet.EdgeCdnAsync(["invalidations", "show", id]);
        Assert.Equal(0, show.Exit);
        Assert.Contains("path " + Path, show.Out);
        Assert.Contains("Acked by 4 of 4 live nodes", show.Out);
        var list = await fleet.EdgeCdnAsync(["invalidations", "list"]);
        Assert.Equal(0, list.Exit);
        Assert.Contains(id, list.Out);
    }

    [Fact]
    public async Task A_node_killed_while_an_invalidation_is_made_restarts_on_its_disk_tier_and_never_serves_the_old_object()
    {
        const string Invalidated = "/fleet/killed.css";
        const string Kept = "/fleet/kept.css";
        var node = fleet.Nodes[1];
        await fleet.WarmAsync(Invalidated);
        await fleet.WarmAsync(Kept, [node]);
        var recordsBefore = (await fleet.Log.ListRecordIdsAsync(null, CancellationToken.None)).Count;

        await node.KillAsync();
        fleet.Change(Invalidated);
        var invalidate = fleet.EdgeCdnAsync(["invalidate", Invalidated, "--timeout", "30s"]);
        await InvalidationFleet.EventuallyAsync(async () => (await fleet.Log.ListRecordIdsAsync(null, CancellationToken.None)).Count > recordsBefore, "the record written");

        // Started again on the same disk tier: its first answer already has the invalidation applied...
        await node.StartAgainAsync();
        using (var first = await node.Viewer.GetAsync(Invalidated))
        {
            Assert.True(fleet.Body(Invalidated) == await first.Content.ReadAsStringAsync(), node.RecentLog);
            Assert.Equal("Miss", first.XCache());
        }

        // ...while what it was not told to remove still comes from its disk tier.
        using (var kept = await node.Viewer.GetAsync(Kept))
        {
            Assert.Equal("Hit", kept.XCache());
        }

        var (exit, output, error) = await invalidate;
        Assert.True(exit == 0, output + error);
        var id = InvalidationFleet.IdFrom(output);
        await InvalidationFleet.EventuallyAsync(async () => (await fleet.AcksAsync(id)).Contains((node.Region, node.Node)), "the restarted node's ack");
        foreach (var other in fleet.Nodes)
        {
            using var response = await other.Viewer.GetAsync(Invalidated);
            Assert.Equal(fleet.Body(Invalidated), await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Two_invalidations_written_at_once_are_both_applied()
    {
        const string First = "/fleet/race-1.html";
        const string Second = "/fleet/race-2.html";
        await fleet.WarmAsync(First);
        await fleet.WarmAsync(Second);
        fleet.Change(First);
        fleet.Change(Second);

        // Two writers read the same head and write at the same time.
        var writes = await Task.WhenAll(
            fleet.EdgeCdnAsync(["invalidate", First, "--timeout", "30s"]),
            fleet.EdgeCdnAsync(["invalidate", Second, "--timeout", "30s"]));

        Assert.All(writes, w => Assert.True(w.Exit == 0, w.Out + w.Error));
        Assert.NotEqual(InvalidationFleet.IdFrom(writes[0].Out), InvalidationFleet.IdFrom(writes[1].Out));
        foreach (var node in fleet.Nodes)
        {
            foreach (var path in (string[])[First, Second])
            {
                using var response = await node.Viewer.GetAsync(path);
                Assert.Equal(fleet.Body(path), await response.Content.ReadAsStringAsync());
            }
        }
    }

    [Fact]
    public async Task A_record_from_a_writer_whose_clock_is_behind_is_applied()
    {
        const string Behind = "/fleet/behind.png";
        const string Late = "/fleet/late.png";
        await fleet.WarmAsync(Behind);
        await fleet.WarmAsync(Late);
        fleet.Change(Behind);
        fleet.Change(Late);
        var latest = (await fleet.EdgeCdnAsync(["invalidate", "/fleet/anything-first", "--timeout", "30s"])).Out;
        var latestId = InvalidationFleet.IdFrom(latest);

        // A writer whose clock is ten minutes slow still writes a record that sorts after what nodes have applied...
        var slowClock = new FakeTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(10));
        Assert.True(InvalidationTarget.TryCreate([Behind], null, null, false, out var target, out _));
        var record = await new InvalidationWriter(fleet.Log, slowClock).WriteAsync(target, "slow-clock", CancellationToken.None);
        Assert.True(InvalidationId.Compare(record.Id, latestId) > 0);
        await AllAckAsync(record.Id);

        // ...and a record that sorts before ids the nodes have applied (a writer that raced the head) is still found:
        // nodes list from a look-back window before their last id and apply what they have not applied.
        InvalidationId.TryGetTime(record.Id, out var applied);
        var lateId = InvalidationId.Create(applied - TimeSpan.FromMinutes(2));
        Assert.True(InvalidationTarget.TryCreate([Late], null, null, false, out var lateTarget, out _));
        Assert.True(await fleet.Log.PutRecordAsync(InvalidationRecord.Create(lateId, applied, "raced", lateTarget), CancellationToken.None));
        await fleet.Log.PutHeadAsync(new LogHead { Latest = record.Id, Written = lateId, UpdatedAt = DateTimeOffset.UtcNow }, CancellationToken.None);
        await AllAckAsync(lateId);

        foreach (var node in fleet.Nodes)
        {
            foreach (var path in (string[])[Behind, Late])
            {
                using var response = await node.Viewer.GetAsync(path);
                Assert.Equal(fleet.Body(path), await response.Content.ReadAsStringAsync());
            }
        }
    }

    [Fact]
    public async Task A_malformed_record_is_skipped_and_the_next_is_applied()
    {
        const string Path = "/fleet/after-malformed.js";
        await fleet.WarmAsync(Path);
        fleet.Change(Path);
        var rejectedBefore = await Task.WhenAll(fleet.Nodes.Select(n => n.MetricAsync("edgecache_invalidation_rejected_total", "reason=\"malformed\"")));

        var head = await fleet.Log.GetHeadAsync(null, CancellationToken.None);
        var notJson = InvalidationId.Create(DateTimeOffset.UtcNow, head.Head?.Latest);
        var unknownField = InvalidationId.Create(DateTimeOffset.UtcNow, notJson);
        await PutRawAsync(notJson, "{ not json");
        await PutRawAsync(unknownField, $$"""{"id":"{{unknownField}}","createdAt":"2026-01-01T00:00:00Z","paths":["{{Path}}"],"ttl":5}""");
        await fleet.Log.PutHeadAsync(new LogHead { Latest = unknownField, Written = unknownField, UpdatedAt = DateTimeOffset.UtcNow }, CancellationToken.None);

        var (exit, output, error) = await fleet.EdgeCdnAsync(["invalidate", Path, "--timeout", "30s"]);

        Assert.True(exit == 0, output + error);
        Assert.True(InvalidationId.Compare(InvalidationFleet.IdFrom(output), unknownField) > 0);
        Assert.Empty(await fleet.AcksAsync(notJson));
        Assert.Empty(await fleet.AcksAsync(unknownField));
        for (var i = 0; i < fleet.Nodes.Count; i++)
        {
            var node = fleet.Nodes[i];
            Assert.Equal(rejectedBefore[i] + 2, await node.MetricAsync("edgecache_invalidation_rejected_total", "reason=\"malformed\""));
            using var response = await node.Viewer.GetAsync(Path);
            Assert.Equal(fleet.Body(Path), await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task With_the_control_bucket_stopped_nodes_keep_serving_and_report_the_lag_then_catch_up()
    {
        const string Path = "/fleet/steady.svg";
        await fleet.WarmAsync(Path);

        await fleet.ControlBucket.StopAsync();
        try
        {
            foreach (var node in fleet.Nodes)
            {
                await InvalidationFleet.EventuallyAsync(
                    async () =>
                    {
                        var invalidation = (await node.ReadinessAsync()).GetProperty("invalidation");
                        return invalidation.GetProperty("lagSeconds").GetDouble() > 3 && !invalidation.GetProperty("controlBucketReachable").GetBoolean();
                    },
                    $"{node.Node} reporting the control bucket unreachable and its lag");
                Assert.True(await node.MetricAsync("edgecache_invalidation_lag_seconds") > 3);
                using var readiness = await node.Admin.GetAsync("/readyz");
                Assert.Equal(System.Net.HttpStatusCode.OK, readiness.StatusCode);
                Assert.True(await node.MetricAsync("edgecache_invalidation_control_bucket_errors_total") > 0);
                using var response = await node.Viewer.GetAsync(Path);
                Assert.Equal("Hit", response.XCache());
            }
        }
        finally
        {
            await fleet.ControlBucket.StartAgainAsync();
        }

        // Back: every node writes its heartbeat again, and applies what is made now.
        var back = DateTimeOffset.UtcNow;
        await InvalidationFleet.EventuallyAsync(async () => (await fleet.Log.ReadHeartbeatsAsync(CancellationToken.None)).Count(h => h.Time >= back) == fleet.Nodes.Count, "every node's heartbeat again", seconds: 30);
        fleet.Change(Path);
        var (exit, output, error) = await fleet.EdgeCdnAsync(["invalidate", Path, "--timeout", "30s"]);
        Assert.True(exit == 0, output + error);
        Assert.True(output.Contains("all 4 live nodes acked", StringComparison.Ordinal), output);
        foreach (var node in fleet.Nodes)
        {
            await InvalidationFleet.EventuallyAsync(
                async () =>
                {
                    var invalidation = (await node.ReadinessAsync()).GetProperty("invalidation");
                    return invalidation.GetProperty("lagSeconds").GetDouble() < 3 && invalidation.GetProperty("controlBucketReachable").GetBoolean();
                },
                $"{node.Node} caught up");
            using var response = await node.Viewer.GetAsync(Path);
            Assert.Equal(fleet.Body(Path), await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_live_node_that_does_not_ack_makes_invalidate_time_out_with_exit_3_naming_it()
    {
        var ghost = new NodeHeartbeat { Node = "ghost", Region = "us-test", Time = DateTimeOffset.UtcNow, HeartbeatSeconds = 60, StartedAt = DateTimeOffset.UtcNow };
        await fleet.Log.PutHeartbeatAsync(ghost, CancellationToken.None);
        try
        {
            var (exit, output, error) = await fleet.EdgeCdnAsync(["invalidate", "/fleet/ghosted", "--timeout", "3s"]);

            Assert.True(exit == 3, output + error);
            Assert.Contains("of 5 live nodes have not acked", error);
            Assert.Contains("us-test/ghost", error);
            Assert.Contains("/3", output);
        }
        finally
        {
            using var client = fleet.ControlBucket.Endpoint.CreateClient();
            await client.DeleteObjectAsync(ControlBucketServer.BucketName, fleet.Log.Keys.Heartbeat("us-test", "ghost"));
        }
    }

    private async Task AllAckAsync(string id) =>
        await InvalidationFleet.EventuallyAsync(async () => (await fleet.AcksAsync(id)).Count == fleet.Nodes.Count, $"every node's ack of {id}");

    private async Task PutRawAsync(string id, string body)
    {
        using var client = fleet.ControlBucket.Endpoint.CreateClient();
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = ControlBucketServer.BucketName,
            Key = fleet.Log.Keys.Record(id),
            InputStream = new MemoryStream(Encoding.UTF8.GetBytes(body)),
            UseChunkEncoding = false,
        });
    }
}
