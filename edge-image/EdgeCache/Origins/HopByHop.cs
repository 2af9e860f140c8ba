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

    /// <summary>Drops hop-by-hop fields, and any the Connection header lists.</summary>
    public static List<KeyValuePair<string, StringValues>> Filter(IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers)
    {
        var list = new List<KeyValuePair<string, StringValues>>();
        HashSet<string>? connectionListed = null;
        foreach (var (name, values) in headers)
        {
            if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                connectionListed ??= new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (var v in values)
                {
                    foreach (var token in v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        connectionListed.Add(token);
                    }
                }
            }
        }

        foreach (var (name, values) in headers)
        {
            if (Names.Contains(name) || (connectionListed?.Contains(name) ?? false))
            {
                continue;
            }

            list.Add(new(name, new StringValues([.. values])));
        }

        return list;
    }
}
