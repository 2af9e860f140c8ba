namespace EdgeCache.Invalidation;

/// <summary>The JSON of <see cref="FollowerState"/> in the cache volume's <c>invalidation-state.json</c>.</summary>
public sealed class FollowerStateDocument
{
    public const int CurrentVersion = 1;

    public int Version { get; set; }

    public DateTimeOffset FollowFrom { get; set; }

    public string? Cursor { get; set; }

    public string? LastAppliedId { get; set; }

    public DateTimeOffset? LastSyncedAt { get; set; }

    public List<string> Handled { get; set; } = [];

    public List<PendingAck> PendingAcks { get; set; } = [];
}
