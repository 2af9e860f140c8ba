namespace EdgeCache.InvalidationLog;

/// <summary>
/// The small object every node polls (<c>head.json</c>): writers replace it after writing a record, so its ETag
/// changes and nodes list only then. <see cref="Latest"/> is the highest id written, which new ids sort after.
/// </summary>
public sealed class LogHead
{
    public string Latest { get; set; } = "";

    /// <summary>The record this write of the head announced (not always the latest when writers raced).</summary>
    public string? Written { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
