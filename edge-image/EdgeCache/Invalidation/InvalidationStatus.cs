namespace EdgeCache.Invalidation;

/// <summary>How far this node has followed the invalidation log: part of <c>/readyz</c>'s JSON.</summary>
public sealed record InvalidationStatus(
    string Node,
    string Region,
    string? LastAppliedId,
    DateTimeOffset? LastAppliedAt,
    DateTimeOffset? LastSyncedAt,
    double LagSeconds,
    bool ControlBucketReachable,
    bool CaughtUpAtStart,
    int PendingAcks);
