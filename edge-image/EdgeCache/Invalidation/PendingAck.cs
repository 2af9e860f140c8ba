namespace EdgeCache.Invalidation;

/// <summary>An invalidation applied here whose ack is not written yet (the control bucket may be unreachable).</summary>
public sealed record PendingAck(string Id, int Removed, DateTimeOffset AppliedAt);
