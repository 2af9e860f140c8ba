using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Origins;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Fetching;

/// <summary>Everything one origin fetch needs, captured from the leader's request so the fetch outlives it.</summary>
public sealed class FetchRequest
{
    public required CacheBehavior Behavior { get; init; }

    public required IOrigin Origin { get; init; }

    public required CacheKey Key { get; init; }

    /// <summary>The request path, sent to the origin (<see cref="CacheKey.Path"/>).</summary>
    public string Path => Key.Path;

    public required string ForwardedQuery { get; init; }

    public required IReadOnlyList<KeyValuePair<string, string>> ForwardedHeaders { get; init; }

    /// <summary>A copy of the leader's request headers, to compute the stored variant's secondary key once Vary is known.</summary>
    public required IHeaderDictionary RequestHeaders { get; init; }

    public required CacheControl RequestCacheControl { get; init; }

    /// <summary>The coding the leader wants ("br", "gzip", "identity"); part of the collapse key when the behavior compresses.</summary>
    public required string WantedEncoding { get; init; }

    /// <summary>The stale entry being revalidated, if any: its validators go to the origin and it stands in on errors.</summary>
    public CacheEntry? StaleEntry { get; init; }
}
