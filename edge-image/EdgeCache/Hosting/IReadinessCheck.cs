namespace EdgeCache.Hosting;

/// <summary>
/// One condition for /readyz: the node is ready when every registered check is. A node is ready when it can serve
/// viewers (configuration loaded, ports listening, disk tier indexed); anything else that must hold before it takes
/// traffic (e.g. a fleet invalidation log caught up, or timed out) is another check registered beside those.
/// </summary>
public interface IReadinessCheck
{
    /// <summary>The check's key in /readyz's <c>checks</c>.</summary>
    string Name { get; }

    ReadinessCheckResult Check();
}
