namespace EdgeCache.Invalidation;

public sealed partial class InvalidationFollower
{
    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Invalidation {InvalidationId} of {Target} (requested by {RequestedBy}) applied: {Removed} entries removed, {DelaySeconds:0.0} s after it was made")]
    private static partial void LogApplied(ILogger logger, string invalidationId, string target, string requestedBy, int removed, double delaySeconds);

    [LoggerMessage(EventId = 701, Level = LogLevel.Error, Message = "Invalidation record {InvalidationId} skipped, nothing of it applied: {Problem}")]
    private static partial void LogRejected(ILogger logger, string invalidationId, string problem);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "Control bucket {Bucket} unreachable ({Operation}): {Problem}. The node keeps serving; invalidations made meanwhile apply when it is back")]
    private static partial void LogUnreachable(ILogger logger, string bucket, string operation, string problem);

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning, Message = "Control bucket {Bucket} still unreachable ({Operation}): {Problem}; invalidation lag {LagSeconds:0} s")]
    private static partial void LogStillUnreachable(ILogger logger, string bucket, string operation, string problem, double lagSeconds);

    [LoggerMessage(EventId = 704, Level = LogLevel.Information, Message = "Control bucket {Bucket} reachable again ({Channel}) after {Seconds:0.0} s")]
    private static partial void LogReachableAgain(ILogger logger, string bucket, string channel, double seconds);

    [LoggerMessage(EventId = 705, Level = LogLevel.Information, Message = "Invalidation log in {Bucket} read before serving viewers; last applied {InvalidationId}")]
    private static partial void LogCaughtUp(ILogger logger, string invalidationId, string bucket);

    [LoggerMessage(EventId = 706, Level = LogLevel.Warning, Message = "Invalidation log in {Bucket} not read within invalidation.startTimeoutSeconds ({Seconds} s): serving viewers anyway, lag {LagSeconds:0} s; it is applied as soon as it can be read")]
    private static partial void LogStartedBehind(ILogger logger, int seconds, string bucket, double lagSeconds);

    [LoggerMessage(EventId = 707, Level = LogLevel.Information, Message = "Invalidation state loaded: cursor {Cursor}, {Remembered} recent ids, from {Path}")]
    private static partial void LogStateLoaded(ILogger logger, string cursor, int remembered, string path);

    [LoggerMessage(EventId = 708, Level = LogLevel.Warning, Message = "Invalidation state {Path} unreadable ({Problem}): following the log as if it were new")]
    private static partial void LogStateUnreadable(ILogger logger, string path, string problem);

    [LoggerMessage(EventId = 709, Level = LogLevel.Information, Message = "No invalidation state: applying invalidations made since {FollowFrom:o} (the oldest object this node could serve)")]
    private static partial void LogFollowingFrom(ILogger logger, DateTimeOffset followFrom);

    [LoggerMessage(EventId = 710, Level = LogLevel.Warning, Message = "Invalidation state not saved to {Path}: {Problem}")]
    private static partial void LogStateNotSaved(ILogger logger, string path, string problem);

    [LoggerMessage(EventId = 711, Level = LogLevel.Error, Message = "Invalidation poll failed")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);
}
