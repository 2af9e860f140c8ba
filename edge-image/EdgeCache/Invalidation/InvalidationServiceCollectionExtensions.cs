using EdgeCache.Configuration;
using EdgeCache.InvalidationLog;

namespace EdgeCache.Invalidation;

public static class InvalidationServiceCollectionExtensions
{
    /// <summary>
    /// The invalidation follower, when <c>invalidation</c> is configured. Register it right after the disk tier: hosted
    /// services start in order, all before Kestrel, so the node catches up with the log before it answers viewers.
    /// </summary>
    public static IServiceCollection AddInvalidationFollower(this IServiceCollection services, EdgeCacheOptions options)
    {
        if (options.Invalidation is not { } invalidation)
        {
            return services;
        }

        services.AddSingleton(_ =>
        {
            var endpoint = new ControlBucketEndpoint(invalidation.Bucket!, invalidation.Region!, invalidation.ServiceUrl, invalidation.KeyPrefix);
            // No SDK retries: the next poll is the retry, and a call must not outlast a few poll intervals.
            var timeout = TimeSpan.FromSeconds(Math.Clamp(invalidation.PollSeconds * 5, 5, 30));
            return new ControlBucket(endpoint.CreateClient(timeout, maxErrorRetry: 0), endpoint.Bucket, endpoint.KeyPrefix);
        });
        services.AddSingleton<InvalidationMetrics>();
        services.AddSingleton<InvalidationFollower>();
        services.AddHostedService(sp => sp.GetRequiredService<InvalidationFollower>());
        return services;
    }
}
