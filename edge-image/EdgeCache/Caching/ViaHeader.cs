using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Caching;

/// <summary>
/// The node's Via entry (RFC 9110 7.6.3): appended to whatever Via the origin sent, never replacing it, so a viewer
/// sees every proxy the response came through. Appended once where an origin response is read, so a stored entry
/// carries the whole chain and a hit sends it without building a string.
/// </summary>
public static class ViaHeader
{
    public static string For(string nodeName) => "1.1 " + nodeName + " (EdgeCache)";

    /// <summary>Appends <paramref name="via"/> to the origin's Via in <paramref name="headers"/>, if it has one and it is not there yet.</summary>
    public static void AppendTo(List<KeyValuePair<string, StringValues>> headers, string via)
    {
        for (var i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            if (!name.Equals(HeaderNames.Via, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var chain = value.Count == 1 ? value[0] ?? "" : string.Join(", ", value.ToArray());
            if (!chain.EndsWith(via, StringComparison.Ordinal))
            {
                headers[i] = new(name, chain.Length == 0 ? via : chain + ", " + via);
            }

            return;
        }
    }
}
