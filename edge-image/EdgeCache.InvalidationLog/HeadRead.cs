namespace EdgeCache.InvalidationLog;

/// <summary>
/// The outcome of reading the head: <see cref="Changed"/> is false when its ETag was the one given (304), or when it
/// is still missing. <see cref="Head"/> is null when the log has no head yet, or the head could not be read as JSON.
/// </summary>
public sealed record HeadRead(bool Changed, string? ETag, LogHead? Head);
