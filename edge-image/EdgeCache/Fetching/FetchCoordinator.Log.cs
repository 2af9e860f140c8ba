using EdgeCache.Origins;

namespace EdgeCache.Fetching;

public sealed partial class FetchCoordinator
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Origin {OriginId} failed for {Path}: {Kind} {Detail}")]
    private static partial void LogOriginError(ILogger logger, string originId, string path, OriginErrorKind kind, string detail);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Origin {OriginId} body for {Path} failed after {Bytes} bytes: {Detail}; not stored")]
    private static partial void LogBodyFailed(ILogger logger, string originId, string path, long bytes, string detail);

    [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Fetch from {OriginId} for {Path} failed unexpectedly")]
    private static partial void LogFetchFailed(ILogger logger, string originId, string path, Exception exception);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Origin {OriginId} answered 304 for {Path} with a validator the stored response does not have; fetching it again unconditionally")]
    private static partial void LogNotModifiedMismatch(ILogger logger, string originId, string path);
}
