using System.Text;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Proxy;

/// <summary>The viewer headers and cookies a behavior sends to its origin (its key headers plus originRequest's), and nothing else.</summary>
internal static class ForwardedRequestHeaders
{
    /// <summary>An empty array, not a new list, when there are none (the default).</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> For(CacheBehavior behavior, IHeaderDictionary headers)
    {
        List<KeyValuePair<string, string>>? list = null;
        foreach (var name in behavior.ForwardedHeaders)
        {
            if (name == "cookie")
            {
                continue;
            }

            var value = headers[name];
            if (value.Count > 0)
            {
                (list ??= []).Add(new(name, value.Count == 1 ? value[0]! : string.Join(", ", value.ToArray())));
            }
        }

        if (behavior.ForwardedCookies.Count > 0 && headers.Cookie.Count > 0)
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
}
