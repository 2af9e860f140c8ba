using EdgeCache.InvalidationLog;

namespace EdgeCdn;

/// <summary>Which live nodes have acked one invalidation, by region.</summary>
public sealed class FleetSnapshot
{
    private FleetSnapshot(List<RegionCount> regions, List<NodeHeartbeat> waiting, int alive)
    {
        Regions = regions;
        Waiting = waiting;
        Alive = alive;
    }

    public IReadOnlyList<RegionCount> Regions { get; }

    /// <summary>Live nodes that have not acked.</summary>
    public IReadOnlyList<NodeHeartbeat> Waiting { get; }

    public int Alive { get; }

    public bool Complete => Alive > 0 && Waiting.Count == 0;

    /// <summary>"eu-west-1 2/2, us-east-1 1/2": acked / alive per region.</summary>
    public string Summary => string.Join(", ", Regions.Select(r => $"{r.Region} {r.Acked}/{r.Alive}"));

    public static FleetSnapshot Of(IEnumerable<NodeHeartbeat> heartbeats, ISet<(string Region, string Node)> acks, DateTimeOffset now)
    {
        var alive = heartbeats.Where(h => h.IsAlive(now)).ToList();
        var regions = alive
            .GroupBy(h => h.Region, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new RegionCount(g.Key, g.Count(h => acks.Contains((h.Region, h.Node))), g.Count()))
            .ToList();
        var waiting = alive.Where(h => !acks.Contains((h.Region, h.Node))).ToList();
        return new FleetSnapshot(regions, waiting, alive.Count);
    }
}
