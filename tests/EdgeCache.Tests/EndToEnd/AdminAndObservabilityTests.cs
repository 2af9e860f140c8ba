using System.Net;
using System.Text.Json;
using EdgeCache.Hosting;
using EdgeCache.Origins;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

public sealed class AdminAndObservabilityTests
{
    [Fact]
    public async Task Admin_endpoints_answer_on_the_admin_port_only()
    {
        await using var origin = await TestOrigin.StartAsync(ctx => ctx.Response.WriteAsync("origin says " + ctx.Request.Path));
        await using var edge = await EdgeNode.StartAsync(origin);

        using var health = await edge.Admin.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        // On the viewer port these paths are ordinary content from the origin, never the node's internals.
        using var viewerMetrics = await edge.Viewer.GetAsync("/metrics");
        Assert.Equal("origin says /metrics", await viewerMetrics.Content.ReadAsStringAsync());

        // ...except the viewer-side liveness path the load balancer and Route 53 probe, which the node answers itself.
        using var viewerHealth = await edge.Viewer.GetAsync("/.edge/healthz");
        Assert.Equal(HttpStatusCode.OK, viewerHealth.StatusCode);
        Assert.DoesNotContain(origin.Requests, r => r.Path == "/.edge/healthz");
    }

    [Fact]
    public async Task Each_request_writes_one_json_access_log_line()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            return ctx.Response.WriteAsync("hello");
        });
        CapturedJsonLog? log = null;
        await using var edge = await EdgeNode.StartAsync(
            origin,
            o => o.AccessLog.Enabled = true,
            logging => CapturedJsonLog.AddTo(logging, "EdgeCache.AccessLog", capture => log = capture));

        (await edge.Viewer.GetAsync("/a.txt?x=1")).Dispose();
        (await edge.Viewer.GetAsync("/a.txt?x=1")).Dispose();
        (await edge.Viewer.DeleteAsync("/a.txt")).Dispose();

        Assert.NotNull(log);
        await CachingTests.Eventually(() => log.Lines.Count >= 3);
        var lines = log.Lines.Select(line => JsonDocument.Parse(line)).ToList();
        Assert.Equal(3, lines.Count);
        var states = lines.Select(doc => doc.RootElement.GetProperty("State")).ToList();
        Assert.All(lines, doc => Assert.Equal("EdgeCache.AccessLog", doc.RootElement.GetProperty("Category").GetString()));
        Assert.Equal(["GET", "GET", "DELETE"], states.Select(s => s.GetProperty("Method").GetString()));
        Assert.All(states, state => Assert.Equal("/a.txt", state.GetProperty("Path").GetString()));
        Assert.Equal("?x=1", states[0].GetProperty("Query").GetString());
        Assert.Equal(["200", "200", "405"], states.Select(s => s.GetProperty("Status").ToString()));
        Assert.Equal(["miss", "hit", "synthetic"], states.Select(s => s.GetProperty("CacheStatus").GetString()));
        Assert.Equal(["5", "5"], states.Take(2).Select(s => s.GetProperty("Bytes").ToString()));
        Assert.True(double.Parse(states[0].GetProperty("DurationMs").ToString(), System.Globalization.CultureInfo.InvariantCulture) >= 0);
        Assert.Equal("127.0.0.1", states[0].GetProperty("Viewer").GetString());
        // The matched behavior's origin, so shipped logs can be grouped by origin (the 5xx by origin).
        Assert.All(states, state => Assert.Equal("origin", state.GetProperty("Origin").GetString()));
        lines.ForEach(doc => doc.Dispose());
    }

    [Fact]
    public async Task Metrics_time_viewer_requests_count_statuses_and_publish_readiness_and_tier_budgets()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            if (ctx.Request.Path == "/broken")
            {
                ctx.Response.StatusCode = StatusCodes.Status502BadGateway;
                return Task.CompletedTask;
            }

            ctx.Response.Headers.CacheControl = "max-age=60";
            return ctx.Response.WriteAsync("0123456789");
        });
        var disk = Directory.CreateTempSubdirectory("metrics-disk-").FullName;
        try
        {
            await using var edge = await EdgeNode.StartAsync(origin, o =>
            {
                o.Cache.MemoryBytes = 32L * 1024 * 1024;
                o.Cache.Disk.Directory = disk;
                o.Cache.Disk.MaxBytes = 16L * 1024 * 1024;
            });
            (await edge.Viewer.GetAsync("/d1")).Dispose();
            (await edge.Viewer.GetAsync("/d1")).Dispose();
            (await edge.Viewer.GetAsync("/broken")).Dispose();
            (await edge.Viewer.DeleteAsync("/d1")).Dispose();

            var text = await edge.Admin.GetStringAsync("/metrics");
            // The viewer latency histogram, one series set per cache status, from which p50 and p99 are read (the origin's
            // 502 is relayed as a miss).
            Assert.Contains("edgecache_request_duration_seconds_count{cache_status=\"hit\"} 1", text, StringComparison.Ordinal);
            Assert.Contains("edgecache_request_duration_seconds_count{cache_status=\"miss\"} 2", text, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^edgecache_request_duration_seconds_bucket\{cache_status=""hit"",le=""\+Inf""\} 1$", text);
            Assert.Matches(@"(?m)^edgecache_request_duration_seconds_sum\{cache_status=""hit""\} [0-9.e-]+$", text);
            // Responses by status code: the 4xx and 5xx ratios.
            Assert.Contains("edgecache_responses_total{code=\"200\"} 2", text, StringComparison.Ordinal);
            Assert.Contains("edgecache_responses_total{code=\"502\"} 1", text, StringComparison.Ordinal);
            Assert.Contains("edgecache_responses_total{code=\"405\"} 1", text, StringComparison.Ordinal);
            // What the fill panels divide by, and what the readiness and memory alerts read.
            Assert.Contains("edgecache_capacity_bytes 33554432", text, StringComparison.Ordinal);
            Assert.Contains("edgecache_disk_capacity_bytes 16777216", text, StringComparison.Ordinal);
            Assert.Contains("edgecache_ready 1", text, StringComparison.Ordinal);
            Assert.Matches(@"(?m)^edgecache_memory_limit_bytes [1-9][0-9.e+]*$", text);
        }
        finally
        {
            Directory.Delete(disk, recursive: true);
        }
    }

    [Fact]
    public async Task Readiness_metric_says_what_readyz_says_and_a_node_without_a_disk_tier_has_no_disk_budget()
    {
        var origin = await TestOrigin.StartAsync(ctx => ctx.Response.WriteAsync("x"));
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Readiness.RequireOrigins = true);
        var monitor = edge.Get<OriginHealthMonitor>();
        await monitor.ProbeAllAsync(CancellationToken.None);
        var text = await edge.Admin.GetStringAsync("/metrics");
        Assert.Contains("edgecache_ready 1", text, StringComparison.Ordinal);
        Assert.Contains("edgecache_disk_capacity_bytes 0", text, StringComparison.Ordinal);

        // Not ready (an origin it requires is down): /readyz says 503, and the metric says 0.
        await origin.DisposeAsync();
        await monitor.ProbeAllAsync(CancellationToken.None);
        using var notReady = await edge.Admin.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("edgecache_ready 0", await edge.Admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_count_requests_by_cache_status_bytes_collapsing_and_storage()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            return ctx.Response.WriteAsync("0123456789");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/m1")).Dispose();
        (await edge.Viewer.GetAsync("/m1")).Dispose();
        (await edge.Viewer.GetAsync("/m1")).Dispose();

        var text = await edge.Admin.GetStringAsync("/metrics");
        Assert.Contains("edgecache_requests_total{cache_status=\"hit\"} 2", text, StringComparison.Ordinal);
        Assert.Contains("edgecache_requests_total{cache_status=\"miss\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("edgecache_response_body_bytes_total{cache_status=\"hit\"} 20", text, StringComparison.Ordinal);
        Assert.Contains("edgecache_stored_objects 1", text, StringComparison.Ordinal);
        Assert.Contains("edgecache_origin_fetch_duration_seconds_count{origin=\"origin\",outcome=\"ok\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("edgecache_collapsed_waiters_total", text, StringComparison.Ordinal);
        Assert.Contains("edgecache_evictions_total", text, StringComparison.Ordinal);

        // The process and runtime beside the cache: CPU, memory, GC counts, and what the GC is paid.
        Assert.Matches(@"(?m)^process_cpu_seconds_total [0-9.e+-]+$", text);
        Assert.Matches(@"(?m)^process_working_set_bytes [1-9][0-9.e+]*$", text);
        Assert.Matches(@"(?m)^dotnet_collection_count_total\{generation=""0""\} [0-9]+$", text);
        Assert.Matches(@"(?m)^dotnet_gc_allocated_bytes_total [1-9][0-9.e+]*$", text);
        Assert.Matches(@"(?m)^dotnet_gc_pause_seconds_total [0-9.e+-]+$", text);
    }

    [Fact]
    public async Task Age_and_cache_status_follow_rfc_9211_syntax()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=100";
            return ctx.Response.WriteAsync("a");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/age")).Dispose();
        edge.Time.Advance(TimeSpan.FromSeconds(30));
        using var hit = await edge.Viewer.GetAsync("/age");
        var age = int.Parse(hit.Header("Age"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(age, 30, 32);
        Assert.Matches(@"^edge-test; hit; ttl=(6[89]|70)$", hit.Header("Cache-Status"));
    }
}
