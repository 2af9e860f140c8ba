using EdgeCache.Caching;
using EdgeCache.Disk;
using EdgeCache.Purging;

namespace EdgeCache.Admin;

/// <summary>Applies purges to both tiers and, through the <see cref="PurgeLog"/>, to fetches under way.</summary>
public sealed partial class PurgeService(MemoryCacheStore store, DiskCacheStore disk, PurgeLog log, ILogger<PurgeService> logger)
{
    public PurgeResult Purge(PurgeMatcher matcher)
    {
        // Record first: a fetch that completes while the store is being swept must already see the purge.
        log.Record(matcher);
        // Both tiers: an entry left on disk would come back on the next memory miss. Memory and disk usually hold the
        // same variants, so the larger count is how many distinct entries the purge took out.
        var removed = Math.Max(store.RemovePaths(matcher.Matches), disk.RemovePaths(matcher.Matches));
        var id = Guid.NewGuid().ToString("N");
        LogPurged(logger, id, matcher.Description, removed);
        return new PurgeResult(id, removed);
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "Purge {PurgeId} of {Target} removed {Removed} entries")]
    private static partial void LogPurged(ILogger logger, string purgeId, string target, int removed);
}
