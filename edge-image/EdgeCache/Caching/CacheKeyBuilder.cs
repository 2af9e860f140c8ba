using System.Text;
using EdgeCache.Behaviors;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Caching;

/// <summary>
/// Cache keys in the CDN's terms. The primary key is behavior + path + the query parameters, headers and cookies the
/// behavior names (sorted, so parameter order does not fragment the cache); everything else is left out of the key
/// and of the origin request. The secondary key holds the request's values for the response's Vary names, each in the
/// form <see cref="VaryValues"/> gives it, and Accept-Encoding reduced to the one coding the node would serve (br, gzip
/// or identity).
/// </summary>
public static class CacheKeyBuilder
{
    public const string AcceptEncoding = "accept-encoding";

    // SecondaryKey's result for Vary: Accept-Encoding alone, in its general format (name=value\n).
    private const string BrotliSecondaryKey = AcceptEncoding + "=br\n";
    private const string GzipSecondaryKey = AcceptEncoding + "=gzip\n";
    private const string IdentitySecondaryKey = AcceptEncoding + "=identity\n";

    public static string PrimaryKey(CacheBehavior behavior, string path, string keyQuery, IHeaderDictionary headers)
    {
        if (HasSimplePrimaryKey(behavior))
        {
            // The common case, one allocation, written by the code the memory lookup formats its stack key with.
            return string.Create(SimplePrimaryKeyLength(behavior, path, keyQuery), (behavior, path, keyQuery), static (key, s) => FormatSimplePrimaryKey(s.behavior, s.path, s.keyQuery, key));
        }

        var sb = new StringBuilder(path.Length + keyQuery.Length + 16);
        sb.Append(behavior.KeyPrefix).Append(path);
        if (keyQuery.Length > 0)
        {
            sb.Append('?').Append(keyQuery);
        }

        foreach (var name in behavior.KeyHeaders)
        {
            sb.Append("|h:").Append(name).Append('=').Append(headers[name].ToString().Trim());
        }

        if (behavior.KeyCookies.Length > 0)
        {
            var cookies = ParseCookies(headers.Cookie);
            foreach (var name in behavior.KeyCookies)
            {
                sb.Append("|c:").Append(name).Append('=');
                if (cookies.TryGetValue(name, out var value))
                {
                    sb.Append(value);
                }
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// The length of the primary key when it is only the behavior's prefix, the path and the key query (no key headers
    /// or cookies), so <see cref="FormatSimplePrimaryKey"/> can write it; otherwise -1.
    /// </summary>
    public static int SimplePrimaryKeyLength(CacheBehavior behavior, string path, string keyQuery)
    {
        if (!HasSimplePrimaryKey(behavior))
        {
            return -1;
        }

        return behavior.KeyPrefix.Length + path.Length + (keyQuery.Length == 0 ? 0 : 1 + keyQuery.Length);
    }

    /// <summary>A behavior that keys on no header and no cookie: its key is the prefix, path and key query alone.</summary>
    private static bool HasSimplePrimaryKey(CacheBehavior behavior) => behavior.KeyHeaders.Length == 0 && behavior.KeyCookies.Length == 0;

    /// <summary>Writes the same characters <see cref="PrimaryKey"/> returns, for a key <see cref="SimplePrimaryKeyLength"/> accepted.</summary>
    public static void FormatSimplePrimaryKey(CacheBehavior behavior, string path, string keyQuery, Span<char> destination)
    {
        behavior.KeyPrefix.CopyTo(destination);
        var written = behavior.KeyPrefix.Length;
        path.CopyTo(destination[written..]);
        written += path.Length;
        if (keyQuery.Length > 0)
        {
            destination[written++] = '?';
            keyQuery.CopyTo(destination[written..]);
        }
    }

    /// <summary>Query strings for the key and for the origin, normalized (sorted by name, re-encoded).</summary>
    public static (string KeyQuery, string ForwardedQuery) Queries(CacheBehavior behavior, QueryString queryString)
    {
        var keyAll = behavior.QueryStrings == "all";
        var keyListed = behavior.QueryStrings == "allowList";
        if (!keyAll && !keyListed && !behavior.ForwardAllQueryStrings)
        {
            // Neither keyed nor forwarded (queryStrings "none", the default): nothing to parse.
            return ("", "");
        }

        // Null for no query, "?" or only separators: no parameters.
        var parsed = QueryHelpers.ParseNullableQuery(queryString.Value);
        if (parsed is null)
        {
            return ("", "");
        }

        var key = keyAll ? Normalize(parsed, null) : keyListed ? Normalize(parsed, behavior.QueryStringNames) : "";
        // What is forwarded is the whole query, which the key already is when it keys on all.
        return (key, behavior.ForwardAllQueryStrings && !keyAll ? Normalize(parsed, null) : key);
    }

    private static string Normalize(Dictionary<string, StringValues> parsed, IReadOnlySet<string>? allowed)
    {
        var names = new string[parsed.Count];
        parsed.Keys.CopyTo(names, 0);
        Array.Sort(names, StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var name in names)
        {
            if (allowed is not null && !allowed.Contains(name))
            {
                continue;
            }

            foreach (var value in parsed[name])
            {
                if (sb.Length > 0)
                {
                    sb.Append('&');
                }

                sb.Append(Uri.EscapeDataString(name));
                if (!string.IsNullOrEmpty(value))
                {
                    sb.Append('=').Append(Uri.EscapeDataString(value));
                }
            }
        }

        return sb.ToString();
    }

    public static string SecondaryKey(string[] varyNames, IHeaderDictionary headers)
    {
        if (varyNames.Length == 0)
        {
            return "";
        }

        if (varyNames is [AcceptEncoding])
        {
            // The usual Vary (and the one compressed variants carry): one of three keys, no string built per request.
            return NormalizeAcceptEncoding(headers.AcceptEncoding) switch
            {
                "br" => BrotliSecondaryKey,
                "gzip" => GzipSecondaryKey,
                _ => IdentitySecondaryKey,
            };
        }

        var sb = new StringBuilder();
        foreach (var name in varyNames)
        {
            sb.Append(name).Append('=');
            sb.Append(name == AcceptEncoding ? NormalizeAcceptEncoding(headers.AcceptEncoding) : VaryValues.Normalize(name, headers[name]));
            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Vary's field names, lower-cased and sorted; ["*"] when the response varies on everything.</summary>
    public static string[] ParseVary(StringValues vary)
    {
        // Made at the first name: most responses have no Vary.
        SortedSet<string>? names = null;
        foreach (var line in vary)
        {
            foreach (var token in (line ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (token == "*")
                {
                    return ["*"];
                }

                (names ??= new SortedSet<string>(StringComparer.Ordinal)).Add(token.ToLowerInvariant());
            }
        }

        return names is null ? [] : [.. names];
    }

    /// <summary>The coding the node serves for this Accept-Encoding: "br", "gzip" or "identity" (RFC 9110 12.5.3 q-values honoured).</summary>
    public static string NormalizeAcceptEncoding(StringValues acceptEncoding)
    {
        double br = -1, gzip = -1, star = -1;
        foreach (var line in acceptEncoding)
        {
            // Parsed on spans: every request of a compress behavior (and every hit on a variant by Accept-Encoding)
            // comes here, and splitting into strings cost an array and a string per coding. A null line is an empty
            // span, and an empty member names no coding.
            var span = line.AsSpan();
            foreach (var range in span.Split(','))
            {
                var part = span[range].Trim();
                // The coding, then everything after its first ";" as the one parameter read.
                var pieces = part.Split(';');
                pieces.MoveNext();
                var coding = part[pieces.Current].Trim();
                var q = 1.0;
                if (pieces.MoveNext() && part[pieces.Current.Start..].Trim() is var param && param.StartsWith("q=", StringComparison.OrdinalIgnoreCase))
                {
                    // A weight that does not parse is 0 (TryParse's failure value): the coding is refused.
                    _ = double.TryParse(param[2..], System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out q);
                }

                if (coding.Equals("br", StringComparison.OrdinalIgnoreCase))
                {
                    br = q;
                }
                else if (coding.Equals("gzip", StringComparison.OrdinalIgnoreCase) || coding.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
                {
                    gzip = q;
                }
                else if (coding is "*")
                {
                    star = q;
                }
            }
        }

        if (br < 0)
        {
            br = star;
        }

        if (gzip < 0)
        {
            gzip = star;
        }

        if (br > 0 && br >= gzip)
        {
            return "br";
        }

        return gzip > 0 ? "gzip" : "identity";
    }

    public static Dictionary<string, string> ParseCookies(StringValues cookieHeaders)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in cookieHeaders)
        {
            // An empty piece (";;") has no "=" and is skipped like a piece without a name.
            foreach (var pair in line?.Split(';', StringSplitOptions.TrimEntries) ?? [])
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    result.TryAdd(pair[..eq].Trim(), pair[(eq + 1)..].Trim());
                }
            }
        }

        return result;
    }
}
