using EdgeCache.Behaviors;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Caching;

/// <summary>
/// The rule that makes "allViewer" headers and "all" cookies safe to cache behind: the origin saw fields the cache key
/// does not hold, so its response may differ by them, and only its Vary says by which (RFC 9111 4.1). A response is
/// shared (stored, and given to collapsed viewers) only if its Vary names every unkeyed field the fetch forwarded;
/// otherwise it goes to the viewer that asked alone. Headers the leader did not send are the origin's Vary to name,
/// as for any shared cache. Named originRequest headers and cookies are outside the rule: the operator chose them as
/// fields that do not change the response, as CloudFront's origin request policies assume.
/// </summary>
public static class UnkeyedForwarding
{
    /// <summary>"unvaried:{field}" for the first forwarded, unkeyed field the response's Vary does not name; else null.</summary>
    public static string? UnvariedReason(CacheBehavior behavior, IReadOnlyList<KeyValuePair<string, string>> forwarded, IReadOnlyList<KeyValuePair<string, StringValues>> responseHeaders)
    {
        if (!(behavior.ForwardAllViewerHeaders || behavior.ForwardAllCookies) || forwarded.Count == 0)
        {
            return null;
        }

        string[]? vary = null;
        foreach (var (name, value) in forwarded)
        {
            var lower = name.ToLowerInvariant();
            if (lower == "cookie")
            {
                if (!behavior.ForwardAllCookies || OnlyKeyCookies(behavior, value))
                {
                    continue;
                }
            }
            else if (!behavior.ForwardAllViewerHeaders || Array.IndexOf(behavior.KeyHeaders, lower) >= 0)
            {
                continue;
            }

            vary ??= CacheKeyBuilder.ParseVary(CachePolicy.Find(responseHeaders, HeaderNames.Vary));
            if (Array.IndexOf(vary, lower) < 0)
            {
                return "unvaried:" + lower;
            }
        }

        return null;
    }

    private static bool OnlyKeyCookies(CacheBehavior behavior, string cookie)
    {
        foreach (var (name, _) in CacheKeyBuilder.ParseCookies(new StringValues(cookie)))
        {
            if (Array.IndexOf(behavior.KeyCookies, name) < 0)
            {
                return false;
            }
        }

        return true;
    }
}
