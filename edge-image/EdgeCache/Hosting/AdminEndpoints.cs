using System.Text.Json;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Observability;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeCache.Hosting;

/// <summary>
/// The admin port: /healthz (alive), /readyz (config loaded, origins reachable), /metrics (Prometheus), /purge.
/// A plain branch rather than endpoint routing, so nothing here can ever be matched on the viewer port.
/// </summary>
public static class AdminEndpoints
{
    public static void Map(IApplicationBuilder admin)
    {
        var services = admin.ApplicationServices;
        var metrics = services.GetRequiredService<EdgeCacheMetrics>();
        admin.UseMetricServer("/metrics", metrics.Registry);
        admin.Run(async context =>
        {
            var path = context.Request.Path.Value;
            switch (path)
            {
                case "/healthz":
                    context.Response.ContentType = "text/plain";
                    await context.Response.WriteAsync("ok\n", context.RequestAborted).ConfigureAwait(false);
                    return;
                case "/readyz":
                    await WriteReadinessAsync(context, services).ConfigureAwait(false);
                    return;
                case "/purge":
                    await PurgeEndpoint.HandleAsync(context, services).ConfigureAwait(false);
                    return;
                default:
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
            }
        });
    }

    private static async Task WriteReadinessAsync(HttpContext context, IServiceProvider services)
    {
        var monitor = services.GetRequiredService<OriginHealthMonitor>();
        var options = services.GetRequiredService<IOptions<EdgeCacheOptions>>().Value;
        var store = services.GetRequiredService<MemoryCacheStore>();
        var ready = !options.Readiness.RequireOrigins || monitor.AllReachable;
        var body = new
        {
            ready,
            configLoaded = true,
            origins = monitor.Reachable.ToDictionary(kv => kv.Key, kv => kv.Value ? "reachable" : "unreachable"),
            cache = new { objects = store.Count, bytes = store.Bytes, capacityBytes = store.CapacityBytes },
            invalidation = services.GetService<Invalidation.InvalidationFollower>()?.Status(),
        };
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, JsonSerializerOptions.Web, context.RequestAborted).ConfigureAwait(false);
    }
}
