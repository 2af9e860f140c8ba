using EdgeCache.Behaviors;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Caching;

/// <summary>
/// What a request is cached under: the <see cref="Primary"/> key both tiers store it by, and the request <see cref="Path"/>
/// that purges and invalidations match. Built once from the request, so nothing ever parses a path back out of a key
/// string (a path may contain '|' or any other character the key uses as a separator).
/// </summary>
public sealed class CacheKey
{
    internal CacheKey(string primary, string path)
    {
        Primary = primary;
        Path = path;
    }

    /// <summary>Behavior, path and the query parameters, headers and cookies the behavior keys on (<see cref="CacheKeyBuilder.PrimaryKey"/>).</summary>
    public string Primary { get; }

    /// <summary>The request path, as validated (<see cref="RequestPathValidator"/>).</summary>
    public string Path { get; }

    public static CacheKey For(CacheBehavior behavior, string path, string keyQuery, IHeaderDictionary headers) =>
        new(CacheKeyBuilder.PrimaryKey(behavior, path, keyQuery, headers), path);

    /// <summary>
    /// The key concurrent misses collapse on: the primary key, the coding the viewer wants when the behavior compresses,
    /// and, once the URL's Vary is known, the request's secondary key. Misses for different variants of one URL then
    /// fetch in parallel instead of queueing behind a fetch whose response they cannot use; misses for the same variant
    /// still share one fetch.
    /// </summary>
    /// <param name="varyNames">The URL's Vary as last seen (a stored variant, the disk index, a response), or null if unknown.</param>
    public string CollapseKey(CacheBehavior behavior, string wantedEncoding, string[]? varyNames, IHeaderDictionary requestHeaders)
    {
        var key = behavior.Compress ? Primary + "\u0001" + wantedEncoding : Primary;
        if (varyNames is null or [] or ["*"])
        {
            return key;
        }

        return key + "\u0002" + CacheKeyBuilder.SecondaryKey(varyNames, requestHeaders);
    }

    public override string ToString() => Primary;
}
