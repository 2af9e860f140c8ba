using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Fetching;
using EdgeCache.Origins;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>A plain GET of <c>cdn.example</c>'s <paramref name="path"/> through one catch-all behavior, for tests of the fetch itself.</summary>
internal static class TestFetchRequest
{
    public static FetchRequest For(IOrigin origin, string path) => new()
    {
        Behavior = new BehaviorTable([new() { PathPattern = "*", Origin = origin.Id }]).All[0],
        Origin = origin,
        Key = new CacheKey("cdn.example" + path, path),
        ForwardedQuery = "",
        ForwardedHeaders = [],
        RequestHeaders = new HeaderDictionary(),
        RequestCacheControl = CacheControl.Empty,
        WantedEncoding = "identity",
    };
}
