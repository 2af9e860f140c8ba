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
    /// the Connection header lists are dropped. Read through <see cref="HttpHeaders.NonValidated"/> (as YARP relays):
    /// enumerating <see cref="HttpHeaders"/> itself parses every value into its typed form and formats it back into new
    /// strings, several objects per header on every miss, and a relay has no use for either.
    /// </summary>
    public static List<KeyValuePair<string, StringValues>> Filter(HttpHeadersNonValidated headers, HttpHeadersNonValidated contentHeaders)
    {
        var list = new List<KeyValuePair<string, StringValues>>(headers.Count + contentHeaders.Count);
        headers.TryGetValues("Connection", out var connection);
        Add(list, headers, connection);
        Add(list, contentHeaders, connection);
        return list;
    }

    private static void Add(List<KeyValuePair<string, StringValues>> list, HttpHeadersNonValidated headers, HeaderStringValues connection)
    {
        foreach (var (name, values) in headers)
        {
            if (Names.Contains(name) || IsListed(connection, name))
            {
                continue;
            }

            // One value, the usual case, is its own string; several keep their lines apart.
            list.Add(new(name, values.Count == 1 ? new StringValues(values.ToString()) : new StringValues([.. values])));
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
