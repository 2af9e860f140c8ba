using EdgeCache.Admin;
using EdgeCache.Observability;
using Prometheus;

namespace EdgeCache.Hosting;

/// <summary>
/// The admin port: /healthz (alive), /readyz (able to serve viewers, with origin health), /metrics (Prometheus), /purge.
/// A plain branch rather than endpoint routing, so nothing here can ever be matched on the viewer port.
/// </summary>
public static class AdminEndpoints
{
    public static void Map(IApplicationBuilder admin)
    {
        var services = admin.ApplicationServices;
        var metrics = services.GetRequiredService<EdgeCacheMetrics>();
        ReadinessEndpoint.RegisterMetric(services);
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
                    await ReadinessEndpoint.HandleAsync(context, services).ConfigureAwait(false);
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
}
