using EdgeCache.Origins;

namespace EdgeCache.Hosting;

/// <summary>
/// readiness.requireOrigins (off by default): not ready while an origin a behavior uses fails its probe. For a node run on
/// its own, whose operator would rather it took no traffic than served only what it has cached. In a fleet behind load
/// balancers this takes every node out together when a shared origin blips, cached objects and stale-if-error included.
/// </summary>
public sealed class OriginsReadinessCheck(OriginHealthMonitor monitor) : IReadinessCheck
{
    public string Name => "origins";

    public ReadinessCheckResult Check() => monitor.AllReachable
        ? new(true, "every origin a behavior uses answered its last probe")
        : new(false, "not ready while an origin a behavior uses is down (readiness.requireOrigins)");
}
