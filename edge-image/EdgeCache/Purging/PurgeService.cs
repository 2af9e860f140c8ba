using EdgeCache.Caching;

namespace EdgeCache.Purging;

/// <summary>Applies purges to the stored entries and, through the <see cref="PurgeLog"/>, to fetches under way.</summary>
public sealed partial class PurgeService(MemoryCacheStore store, PurgeLog log, ILogger<PurgeService> logger)
{
    public PurgeResult Purge(PurgeMatcher matcher)
    {
        // Record first: a fetch that completes while the store is being swept must already see the purge.
        log.Record(matcher);
        var removed = store.RemoveWhere(key => matcher.Matches(CacheKeyBuilder.PathOf(key)));
        var id = Guid.NewGuid().ToString("N");
        LogPurged(logger, id, matcher.Description, removed);
        return new PurgeResult(id, removed);
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Purge {PurgeId} of {Target} removed {Removed} entries")]
    private static partial void LogPurged(ILogger logger, string purgeId, string target, int removed);
}
