using EdgeCache.Behaviors;
using EdgeCache.Caching;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Caching;

/// <summary>
/// The key concurrent misses collapse on: the primary key, the coding the viewer wants when the behavior compresses,
/// and, once the URL's Vary is known, the request's secondary key. Misses for different variants of one URL then fetch
/// in parallel instead of queueing behind a fetch whose response they cannot use; misses for the same variant still
/// share one fetch.
/// </summary>
internal static class CollapseKey
{
    /// <param name="varyNames">The URL's Vary as last seen (a stored variant, the disk index, a response), or null if unknown.</param>
    public static string For(string primaryKey, CacheBehavior behavior, string wantedEncoding, string[]? varyNames, IHeaderDictionary requestHeaders)
    {
        var key = behavior.Compress ? primaryKey + "\u0001" + wantedEncoding : primaryKey;
        if (varyNames is null or [] or ["*"])
        {
            return key;
        }

        return key + "\u0002" + CacheKeyBuilder.SecondaryKey(varyNames, requestHeaders);
    }
}
