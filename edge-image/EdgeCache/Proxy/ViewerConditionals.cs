using EdgeCache.Caching;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Proxy;

/// <summary>A viewer's own If-None-Match / If-Modified-Since evaluated against what the node is about to serve (RFC 9110 13.2.2).</summary>
public static class ViewerConditionals
{
    public static bool IsNotModified(HttpRequest request, int status, StringValues etag, DateTimeOffset? lastModified)
    {
        if (status != StatusCodes.Status200OK || !RequestMethod.IsGetOrHead(request.Method))
        {
            return false;
        }

        var ifNoneMatch = request.Headers.IfNoneMatch;
        if (ifNoneMatch.Count > 0)
        {
            if (etag.Count == 0 || etag[0] is not { } current)
            {
                return false;
            }

            foreach (var line in ifNoneMatch)
            {
                // Split on the spans: no array or strings per conditional hit.
                var span = (line ?? "").AsSpan();
                foreach (var range in span.Split(','))
                {
                    var candidate = span[range].Trim();
                    if (candidate.IsEmpty)
                    {
                        continue;
                    }

                    if (candidate is "*" || Opaque(candidate).SequenceEqual(Opaque(current)))
                    {
                        return true;
                    }
                }
            }

            // If-None-Match present: If-Modified-Since is ignored (RFC 9110 13.1.3).
            return false;
        }

        // One HTTP-date parser for every field (RFC 9110 5.6.7); a two-digit year is read near the date it is compared with.
        if (lastModified is { } lm && HttpDate.Parse(request.Headers.IfModifiedSince, lm) is { } since)
        {
            return lm <= since;
        }

        return false;
    }

    public static bool WeakEquals(string a, string b) => Opaque(a).SequenceEqual(Opaque(b));

    private static ReadOnlySpan<char> Opaque(ReadOnlySpan<char> tag) => tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;
}
