namespace EdgeCache.Proxy;

public sealed partial class EdgeProxy
{
    [LoggerMessage(EventId = 1, EventName = "Access", Level = LogLevel.Information,
        Message = "{Method} {Path}{Query} {Status} {CacheStatus} {Bytes}B {DurationMs}ms behavior={Behavior} origin={Origin} collapsed={Collapsed} detail={Detail} viewer={Viewer}")]
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
        string? origin,
        bool collapsed,
        string? detail,
        string? viewer);

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Aborted the response for {Path}: {Detail}")]
    private static partial void LogAbortedIncomplete(ILogger logger, string path, string detail);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Answered 502 for {Path}: the origin body failed before any of it was sent: {Detail}")]
    private static partial void LogBadGatewayIncomplete(ILogger logger, string path, string detail);

    [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Serving {Path} failed")]
    private static partial void LogServeFailed(ILogger logger, string path, Exception exception);
}
