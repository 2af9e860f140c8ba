using System.Globalization;
using System.Net;
using System.Text.Json;
using EdgeCache.Origins;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// /readyz says whether the node can serve viewers; origin health is reported beside it (JSON, /metrics), never as the
/// probe's answer, so an origin blip cannot take every node of every region out of its load balancer.
/// </summary>
public sealed class ReadinessTests
{
    [Fact]
    public async Task With_every_origin_down_the_node_stays_ready_reports_the_origins_and_serves_what_it_has()
    {
        var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            return ctx.Response.WriteAsync("kept");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/kept.txt")).Dispose();

        await origin.DisposeAsync();
        edge.Time.Advance(TimeSpan.FromSeconds(1));
        var probedAt = edge.Time.GetUtcNow();
        await edge.Get<OriginHealthMonitor>().ProbeAllAsync(CancellationToken.None);

        using (var ready = await edge.Admin.GetAsync("/readyz"))
        {
            var text = await ready.Content.ReadAsStringAsync();
            Assert.True(ready.StatusCode == HttpStatusCode.OK, text);
            using var json = JsonDocument.Parse(text);
            Assert.True(json.RootElement.GetProperty("ready").GetBoolean());
            var state = json.RootElement.GetProperty("origins").GetProperty("origin");
            Assert.False(state.GetProperty("up").GetBoolean());
            Assert.Equal(probedAt, DateTimeOffset.Parse(state.GetProperty("lastProbeAt").GetString()!, CultureInfo.InvariantCulture));
            var error = state.GetProperty("lastError");
            Assert.Equal("probe", error.GetProperty("during").GetString());
            Assert.Equal("connect", error.GetProperty("kind").GetString());
            Assert.NotEqual("", error.GetProperty("message").GetString());
        }

        var metrics = await edge.Admin.GetStringAsync("/metrics");
        Assert.Contains("edgecache_origin_up{origin=\"origin\"} 0", metrics, StringComparison.Ordinal);

        using var hit = await edge.Viewer.GetAsync("/kept.txt");
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal("kept", await hit.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_origin_that_answers_is_up_on_metrics_and_in_the_details()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin);
        await edge.Get<OriginHealthMonitor>().ProbeAllAsync(CancellationToken.None);

        using var json = JsonDocument.Parse(await edge.Admin.GetStringAsync("/readyz"));
        var state = json.RootElement.GetProperty("origins").GetProperty("origin");
        Assert.True(state.GetProperty("up").GetBoolean());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("lastError").ValueKind);
        Assert.Contains("edgecache_origin_up{origin=\"origin\"} 1", await edge.Admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_origin_fetch_is_the_last_error_in_the_details()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Origins[0].ReadTimeoutMs = 200);
        origin.Handler = async ctx =>
        {
            // Headers never come: the node gives up after readTimeoutMs.
            await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
        };

        var fetch = edge.Viewer.GetAsync("/slow");
        await CachingTests.Eventually(() => origin.Count("/slow") == 1);
        edge.Time.Advance(TimeSpan.FromSeconds(1));
        using var failed = await fetch;
        Assert.Equal(HttpStatusCode.GatewayTimeout, failed.StatusCode);

        using var json = JsonDocument.Parse(await edge.Admin.GetStringAsync("/readyz"));
        var error = json.RootElement.GetProperty("origins").GetProperty("origin").GetProperty("lastError");
        Assert.Equal("fetch", error.GetProperty("during").GetString());
        Assert.Equal("timeout", error.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task With_requireOrigins_readiness_follows_the_origins_as_before()
    {
        var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Readiness.RequireOrigins = true);
        var monitor = edge.Get<OriginHealthMonitor>();
        await monitor.ProbeAllAsync(CancellationToken.None);
        using (var ready = await edge.Admin.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        await origin.DisposeAsync();
        await monitor.ProbeAllAsync(CancellationToken.None);
        using var notReady = await edge.Admin.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        using var json = JsonDocument.Parse(await notReady.Content.ReadAsStringAsync());
        Assert.False(json.RootElement.GetProperty("ready").GetBoolean());
        Assert.False(json.RootElement.GetProperty("checks").GetProperty("origins").GetProperty("ready").GetBoolean());
        Assert.True(json.RootElement.GetProperty("checks").GetProperty("started").GetProperty("ready").GetBoolean());
    }

    [Fact]
    public void Origins_are_not_required_for_readiness_by_default()
    {
        Assert.False(new Configuration.ReadinessOptions().RequireOrigins);
    }
}
