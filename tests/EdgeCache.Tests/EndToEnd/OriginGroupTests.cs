using System.Net;
using EdgeCache.Configuration;
using EdgeCache.Observability;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>Origin groups: failover to the secondary, and the circuit breaker that stops retrying a dead primary.</summary>
public sealed class OriginGroupTests
{
    [Fact]
    public async Task A_failover_status_from_the_primary_is_answered_by_the_secondary()
    {
        await using var primary = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.StatusCode = 503;
            return ctx.Response.WriteAsync("primary down");
        });
        await using var secondary = await Named("secondary");
        await using var edge = await StartGroup(primary.Url, secondary.Url);

        using var response = await edge.Viewer.GetAsync("/a");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("secondary:/a", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, primary.Count("/a"));
        Assert.Equal(1, edge.Get<EdgeCacheMetrics>().OriginFailovers.WithLabels("group", "status").Value);
    }

    [Fact]
    public async Task A_primary_that_refuses_connections_fails_over()
    {
        await using var secondary = await Named("secondary");
        await using var edge = await StartGroup($"http://127.0.0.1:{FreePort.Next()}", secondary.Url);
        using var response = await edge.Viewer.GetAsync("/b");
        Assert.Equal("secondary:/b", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, edge.Get<EdgeCacheMetrics>().OriginFailovers.WithLabels("group", "connect").Value);
    }

    [Fact]
    public async Task Statuses_outside_the_failover_list_are_served_from_the_primary()
    {
        await using var primary = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.StatusCode = 404;
            return ctx.Response.WriteAsync("primary 404");
        });
        await using var secondary = await Named("secondary");
        await using var edge = await StartGroup(primary.Url, secondary.Url);
        using var response = await edge.Viewer.GetAsync("/missing");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(secondary.Requests);
    }

    [Fact]
    public async Task The_circuit_opens_on_a_dead_primary_then_lets_a_trial_through_after_the_break()
    {
        var healthy = false;
        await using var primary = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "no-store";
            ctx.Response.StatusCode = healthy ? 200 : 500;
            return ctx.Response.WriteAsync("primary:" + ctx.Request.Path);
        });
        await using var secondary = await Named("secondary");
        await using var edge = await StartGroup(primary.Url, secondary.Url);

        for (var i = 0; i < 6; i++)
        {
            using var response = await edge.Viewer.GetAsync($"/p{i}");
            Assert.Equal($"secondary:/p{i}", await response.Content.ReadAsStringAsync());
        }

        // Two failures (minimumThroughput) opened the circuit: the primary saw no more requests after them.
        Assert.Equal(2, primary.Requests.Count);
        Assert.Equal(4, edge.Get<EdgeCacheMetrics>().OriginFailovers.WithLabels("group", "circuit-open").Value);

        healthy = true;
        edge.Time.Advance(TimeSpan.FromSeconds(31));
        using (var trial = await edge.Viewer.GetAsync("/trial"))
        {
            Assert.Equal("primary:/trial", await trial.Content.ReadAsStringAsync());
        }

        using var after = await edge.Viewer.GetAsync("/after");
        Assert.Equal("primary:/after", await after.Content.ReadAsStringAsync());
    }

    private static Task<TestOrigin> Named(string name) => TestOrigin.StartAsync(ctx =>
    {
        ctx.Response.Headers.CacheControl = "no-store";
        return ctx.Response.WriteAsync($"{name}:{ctx.Request.Path}");
    });

    private static Task<EdgeNode> StartGroup(string primaryUrl, string secondaryUrl) => EdgeNode.StartAsync(o =>
    {
        o.Origins.Add(new OriginOptions { Id = "replica", Type = "http", Url = primaryUrl, ConnectTimeoutMs = 1000, ReadTimeoutMs = 3000 });
        o.Origins.Add(new OriginOptions { Id = "primary-bucket", Type = "http", Url = secondaryUrl });
        o.Origins.Add(new OriginOptions
        {
            Id = "group",
            Type = "group",
            Primary = "replica",
            Secondary = "primary-bucket",
            CircuitBreaker = new CircuitBreakerOptions { FailureRatio = 0.5, MinimumThroughput = 2, SamplingSeconds = 30, BreakSeconds = 30 },
        });
        o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "group" });
    });
}
