namespace EdgeCache.Origins;

/// <summary>
/// What the node asks an origin for. <see cref="Path"/> is the decoded, validated viewer path (always starting with '/',
/// no dot segments); each origin encodes it for its own protocol beneath its configured base.
/// </summary>
public sealed class OriginRequest
{
    public required string Method { get; init; }

    public required string Path { get; init; }

    /// <summary>Already-encoded query string without '?', or empty.</summary>
    public string Query { get; init; } = "";

    /// <summary>Forwarded viewer headers (only those the behavior names).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public string? IfNoneMatch { get; init; }

    public DateTimeOffset? IfModifiedSince { get; init; }

    /// <summary>Request body for forwarded unsafe methods.</summary>
    public Stream? Body { get; init; }

    public long? BodyLength { get; init; }

    public string? BodyContentType { get; init; }

    /// <summary>
    /// Forwarded for one viewer rather than fetched for the cache (an unsafe method, a bypass): an HTTP origin sends it on
    /// its pass-through connections (origins[].maxPassThroughConnections), so how long a viewer holds one cannot starve
    /// the cache's fetches.
    /// </summary>
    public bool PassThrough { get; init; }
}
