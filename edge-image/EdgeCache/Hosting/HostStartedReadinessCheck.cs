namespace EdgeCache.Hosting;

/// <summary>
/// Ready once the host has started and until it begins to stop. The host starts its services in order and the server
/// last: the configuration was loaded and validated before anything was built, the disk tier's StartAsync indexes the
/// tier before any port is bound, and ApplicationStarted fires once every port listens. From SIGTERM on the node drains
/// and says so, so a load balancer still asking sends nothing new.
/// </summary>
public sealed class HostStartedReadinessCheck(IHostApplicationLifetime lifetime) : IReadinessCheck
{
    public string Name => "started";

    public ReadinessCheckResult Check()
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return new(false, "shutting down: finishing in-flight responses");
        }

        return lifetime.ApplicationStarted.IsCancellationRequested
            ? new(true, "configuration loaded, disk tier indexed, listening")
            : new(false, "starting");
    }
}
