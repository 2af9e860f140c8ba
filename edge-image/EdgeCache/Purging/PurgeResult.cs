namespace EdgeCache.Purging;

public sealed record PurgeResult(string Id, int Removed);
