using System.Net.Http.Headers;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Origins;

/// <summary>Headers that describe one connection, not the response (RFC 9110 7.6.1); never stored or relayed.</summary>
public static class HopByHop
{
    private static readonly HashSet<string> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Proxy-Authenticate", "Proxy-Authorization", "Content-Length", "Alt-Svc",
    };

    public static bool IsHopByHop(string name) => Names.Contains(name);

    /// <summary>
    /// The end-to-end fields of a response and its content headers, as the origin sent them: hop-by-hop fields and any
    /// the Connection header lists are dropped, and so are field lines no viewer could be sent (<see cref="OriginHeaderValue"/>)
    /// and a Content-Range on a status that has none (RFC 9110 14.4: only 206 and 416 carry one; on a 200 it would be
    /// replayed on every hit, multipart 206s included). Read through <see cref="HttpHeaders.NonValidated"/> (as YARP relays):
    /// enumerating <see cref="HttpHeaders"/> itself parses every value into its typed form and formats it back into new
    /// strings, several objects per header on every miss, and a relay has no use for either.
    /// </summary>
    public static List<KeyValuePair<string, StringValues>> Filter(HttpHeadersNonValidated headers, HttpHeadersNonValidated contentHeaders, int statusCode = 200)
    {
        var list = new List<KeyValuePair<string, StringValues>>(headers.Count + contentHeaders.Count);
        headers.TryGetValues("Connection", out var connection);
        var keepContentRange = statusCode is 206 or 416;
        Add(list, headers, connection, keepContentRange);
        Add(list, contentHeaders, connection, keepContentRange);
        return list;
    }

    private static void Add(List<KeyValuePair<string, StringValues>> list, HttpHeadersNonValidated headers, HeaderStringValues connection, bool keepContentRange)
    {
        foreach (var (name, values) in headers)
        {
            if (Names.Contains(name) || IsListed(connection, name)
                || (!keepContentRange && name.Equals("Content-Range", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            if (values.Count == 1)
            {
                // One value, the usual case, is its own string.
                if (OriginHeaderValue.Servable(values.ToString()) is { } value)
                {
                    list.Add(new(name, value));
                }

                continue;
            }

            // Several keep their lines apart.
            var kept = new List<string>(values.Count);
            foreach (var line in values)
            {
                if (OriginHeaderValue.Servable(line) is { } value)
                {
                    kept.Add(value);
                }
            }

            if (kept.Count > 0)
            {
                list.Add(new(name, new StringValues([.. kept])));
            }
        }
    }

    /// <summary>Whether <paramref name="name"/> is one of the Connection header's comma-separated options.</summary>
    private static bool IsListed(HeaderStringValues connection, string name)
    {
        foreach (var line in connection)
        {
            var span = line.AsSpan();
            foreach (var range in span.Split(','))
            {
                if (span[range].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
