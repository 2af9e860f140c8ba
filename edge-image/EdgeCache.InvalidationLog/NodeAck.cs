namespace EdgeCache.InvalidationLog;

/// <summary>
/// <c>acks/&lt;id&gt;/&lt;region&gt;/&lt;node&gt;</c>: written by a node once it serves nothing the invalidation
/// removes, from either tier.
/// </summary>
public sealed class NodeAck
{
    public string Node { get; set; } = "";

    public string Region { get; set; } = "";

    public DateTimeOffset AppliedAt { get; set; }

    /// <summary>Cache entries the invalidation took out on this node.</summary>
    public int Removed { get; set; }
}
