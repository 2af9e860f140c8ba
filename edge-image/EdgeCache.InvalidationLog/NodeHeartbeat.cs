namespace EdgeCache.InvalidationLog;

/// <summary>
/// <c>nodes/&lt;region&gt;/&lt;node&gt;</c>: each edge node rewrites it every <see cref="HeartbeatSeconds"/>, so the
/// fleet can be counted. A node is alive while its heartbeat is younger than <see cref="AliveHeartbeats"/> periods.
/// </summary>
public sealed class NodeHeartbeat
{
    /// <summary>Missed heartbeats after which a node no longer counts as alive (it died, or was scaled away).</summary>
    public const int AliveHeartbeats = 3;

    public string Node { get; set; } = "";

    public string Region { get; set; } = "";

    public DateTimeOffset Time { get; set; }

    public int HeartbeatSeconds { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public string? LastAppliedId { get; set; }

    /// <summary>Seconds since the node last read the whole log with nothing left to apply.</summary>
    public double LagSeconds { get; set; }

    public bool IsAlive(DateTimeOffset now) => now - Time <= TimeSpan.FromSeconds(Math.Max(1, HeartbeatSeconds) * AliveHeartbeats);
}
