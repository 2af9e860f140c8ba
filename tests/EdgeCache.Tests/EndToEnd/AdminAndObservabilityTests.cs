using System.Net;
using System.Text.Json;
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
        lines.ForEach(doc => doc.Dispose());
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
