namespace EdgeCache.InvalidationLog;

/// <summary>A small object read whole, with the ETag it was read at.</summary>
internal sealed class ObjectBody(string? etag) : MemoryStream
{
    public string? ETag { get; } = etag;
}
