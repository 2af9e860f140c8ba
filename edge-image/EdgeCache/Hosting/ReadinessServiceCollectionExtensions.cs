using EdgeCache.Configuration;
using EdgeCache.Origins;

namespace EdgeCache.Hosting;

public static class ReadinessServiceCollectionExtensions
{
    /// <summary>Origin health (probes, last errors) and the checks behind /readyz.</summary>
    public static IServiceCollection AddReadiness(this IServiceCollection services, EdgeCacheOptions options)
    {
        services.AddSingleton<OriginHealth>();
        services.AddSingleton<OriginHealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<OriginHealthMonitor>());
        services.AddSingleton<IReadinessCheck, HostStartedReadinessCheck>();
        if (options.Readiness.RequireOrigins)
        {
            services.AddSingleton<IReadinessCheck, OriginsReadinessCheck>();
        }

        return services;
    }
}
