using System.Text;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Origins;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Proxy;

/// <summary>
/// The viewer headers and cookies a behavior sends to its origin: its key headers plus originRequest's named ones, or
/// with "allViewer" / "allViewerExceptHost" and cookies "all", every end-to-end field the viewer sent — and nothing else.
/// </summary>
internal static class ForwardedRequestHeaders
{
    // Never sent on with "allViewer", besides the hop-by-hop fields (HopByHop): the request's own framing and
    // connection fields, which Kestrel and the origin client own; what a viewer claims about where it comes from, which
    // the node does not vouch for (the PROXY protocol gives the node the address it trusts); and Cookie, which
    // originRequest.cookies governs.
    private static readonly HashSet<string> NeverAll = new(StringComparer.OrdinalIgnoreCase)
    {
        "Expect", "HTTP2-Settings", "Forwarded", "X-Real-IP", "Cookie", "Host",
    };

    // What the cache itself answers for on GET and HEAD: its own validators and ranges (it fetches whole objects and
    // revalidates them with its own conditionals), request directives meant for it, and the coding it negotiates.
    // Sent with the viewer's other fields on every other method, whose response the cache does not keep.
    private static readonly HashSet<string> CacheOwned = new(StringComparer.OrdinalIgnoreCase)
    {
        "Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
        "Cache-Control", "Pragma", "Accept-Encoding",
    };

    /// <summary>
    /// An empty array, not a new list, when there are none (the default). <paramref name="cacheable"/>: a GET or HEAD,
    /// whose fetch may be stored and shared.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> For(CacheBehavior behavior, IHeaderDictionary headers, bool cacheable)
    {
        List<KeyValuePair<string, string>>? list = null;
        if (behavior.ForwardAllViewerHeaders)
        {
            foreach (var (name, value) in headers)
            {
                if (value.Count > 0 && IsForwardedByAll(behavior, name, cacheable))
                {
                    (list ??= []).Add(new(name, Join(value)));
                }
            }
        }
        else
        {
            foreach (var name in behavior.ForwardedHeaders)
            {
                if (name == "cookie")
                {
                    continue;
                }

                var value = headers[name];
                if (value.Count > 0)
                {
                    (list ??= []).Add(new(name, Join(value)));
                }
            }
        }

        if (behavior.ForwardAllCookies && headers.Cookie.Count > 0)
        {
            (list ??= []).Add(new("Cookie", string.Join("; ", headers.Cookie.ToArray())));
        }
        else if (behavior.ForwardedCookies.Count > 0 && headers.Cookie.Count > 0)
        {
            var sb = new StringBuilder();
            foreach (var (name, value) in CacheKeyBuilder.ParseCookies(headers.Cookie))
            {
                if (behavior.ForwardedCookies.Contains(name))
                {
                    if (sb.Length > 0)
                    {
                        sb.Append("; ");
                    }

                    sb.Append(name).Append('=').Append(value);
                }
            }

            if (sb.Length > 0)
            {
                (list ??= []).Add(new("Cookie", sb.ToString()));
            }
        }

        return list is null ? [] : list;
    }

    private static bool IsForwardedByAll(CacheBehavior behavior, string name, bool cacheable)
    {
        if (name.Length == 0 || name[0] == ':')
        {
            // HTTP/2 and HTTP/3 pseudo-header fields describe the request line, which the origin request has of its own.
            return false;
        }

        if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
        {
            return behavior.ForwardViewerHost;
        }

        if (HopByHop.IsHopByHop(name) || NeverAll.Contains(name) || name.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // A key header is the cache's to read but the origin's to see, whatever it is.
        return !cacheable || !CacheOwned.Contains(name) || Array.IndexOf(behavior.KeyHeaders, name.ToLowerInvariant()) >= 0;
    }

    private static string Join(StringValues value) => value.Count == 1 ? value[0]! : string.Join(", ", value.ToArray());
}
