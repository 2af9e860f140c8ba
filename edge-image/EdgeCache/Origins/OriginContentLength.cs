using System.Net.Http.Headers;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Origins;

/// <summary>
/// RFC 9110 8.6 and RFC 9112 6.3: an origin's Content-Length is digits, or a list repeating one value; anything else
/// leaves the response without framing, which a proxy answers 502 without using. The origin client does not refuse it: it
/// ignores a value it cannot parse ("+5", "5 5") and reads to the end of the connection, so the node would relay, and
/// store, bytes the origin never framed.
/// </summary>
public static class OriginContentLength
{
    /// <summary>What is wrong with the response's Content-Length, or null when it is absent or valid.</summary>
    public static string? Problem(HttpContentHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues(HeaderNames.ContentLength, out var values))
        {
            return null;
        }

        string? first = null;
        foreach (var line in values)
        {
            foreach (var part in line.Split(','))
            {
                var value = part.Trim(" \t".ToCharArray());
                if (value.Length == 0 || !value.All(char.IsAsciiDigit))
                {
                    return $"Content-Length '{line}' is not a decimal number";
                }

                value = value.TrimStart('0');
                if (first is null)
                {
                    first = value;
                }
                else if (first != value)
                {
                    return $"Content-Length has different values ({string.Join(", ", values)})";
                }
            }
        }

        return null;
    }
}
