using System.Text.Json;
using EdgeCache.Caching;
using EdgeCache.Origins;

namespace EdgeCache.Hosting;

/// <summary>
/// The admin port's /readyz: 200 when every <see cref="IReadinessCheck"/> passes, 503 otherwise. The JSON body adds what
/// an operator looks for next: each origin's health (last probe, last error), the memory tier's fill, and how far the
/// node is behind the fleet invalidation log.
/// </summary>
public static class ReadinessEndpoint
{
    public static async Task HandleAsync(HttpContext context, IServiceProvider services)
    {
        var checks = Evaluate(services);
        var ready = checks.TrueForAll(c => c.Result.Ready);
        var store = services.GetRequiredService<MemoryCacheStore>();
        var body = new
        {
            ready,
            checks = checks.ToDictionary(c => c.Name, c => new { ready = c.Result.Ready, detail = c.Result.Detail }, StringComparer.Ordinal),
            origins = Origins(services),
            cache = new { objects = store.Count, bytes = store.Bytes, capacityBytes = store.CapacityBytes },
            // The fleet invalidation log's lag and last applied record; absent when the node follows none.
            invalidation = services.GetService<Invalidation.InvalidationFollower>()?.Status(),
        };
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, JsonSerializerOptions.Web, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes the same answer as <c>edgecache_ready</c>, read at each scrape: the fleet's metrics then show a region
    /// with no node ready (every pod starting, draining or failing its checks) without anyone probing /readyz.
    /// </summary>
    public static void RegisterMetric(IServiceProvider services)
    {
        var metrics = services.GetRequiredService<Observability.EdgeCacheMetrics>();
        metrics.Registry.AddBeforeCollectCallback(() => metrics.Ready.Set(Evaluate(services).TrueForAll(c => c.Result.Ready) ? 1 : 0));
    }

    private static List<(string Name, ReadinessCheckResult Result)> Evaluate(IServiceProvider services) =>
        services.GetServices<IReadinessCheck>().Select(check => (check.Name, Result: check.Check())).ToList();

    /// <summary>Every configured origin (groups included), probed or not yet.</summary>
    private static SortedDictionary<string, OriginHealthState> Origins(IServiceProvider services)
    {
        var health = services.GetRequiredService<OriginHealth>();
        var result = new SortedDictionary<string, OriginHealthState>(StringComparer.Ordinal);
        foreach (var origin in services.GetRequiredService<OriginRegistry>().All)
        {
            result[origin.Id] = health.States.TryGetValue(origin.Id, out var state) ? state : new OriginHealthState(null, null, null);
        }

        return result;
    }
}
