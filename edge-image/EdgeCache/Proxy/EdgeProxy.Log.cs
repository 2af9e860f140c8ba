namespace EdgeCache.Proxy;

public sealed partial class EdgeProxy
{
    [LoggerMessage(EventId = 1, EventName = "Access", Level = LogLevel.Information,
        Message = "{Method} {Path}{Query} {Status} {CacheStatus} {Bytes}B {DurationMs}ms behavior={Behavior} collapsed={Collapsed} detail={Detail} viewer={Viewer}")]
    private static partial void LogAccess(
        ILogger logger,
        string method,
        string path,
        string query,
        int status,
        string cacheStatus,
        long bytes,
        double durationMs,
        int behavior,
        bool collapsed,
        string? detail,
        string? viewer);

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Aborted the response for {Path}: {Detail}")]
    private static partial void LogAbortedIncomplete(ILogger logger, string path, string detail);
}
