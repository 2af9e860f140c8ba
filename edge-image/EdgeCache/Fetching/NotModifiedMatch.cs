using EdgeCache.Caching;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Fetching;

/// <summary>
/// RFC 9111 4.3.4: a 304 updates a stored response only if its validators name that response. An origin whose
/// representation changed between the conditional and its answer (or that answers from another replica) may send a
/// 304 carrying a new ETag: refreshing the old body with the new headers would serve a mix of two representations.
/// </summary>
internal static class NotModifiedMatch
{
    /// <summary>Whether the 304 with <paramref name="notModified"/> headers may refresh <paramref name="stored"/>.</summary>
    public static bool Updates(CacheEntry stored, IReadOnlyList<KeyValuePair<string, StringValues>> notModified)
    {
        if (CachePolicy.Find(notModified, HeaderNames.ETag) is { Count: > 0 } etags && etags[0] is { } etag)
        {
            if (stored.ETag is not { } storedETag)
            {
                return false;
            }

            // A strong validator selects only the response with that same strong validator; a weak one, any whose
            // validator is the same by weak comparison (RFC 9110 8.8.3.2).
            return IsWeak(etag) ? Opaque(etag).SequenceEqual(Opaque(storedETag)) : etag == storedETag;
        }

        if (HttpDate.Parse(CachePolicy.Find(notModified, HeaderNames.LastModified), stored.ResponseTime) is { } lastModified)
        {
            return stored.LastModified == lastModified;
        }

        // No validator at all: the 304 answers the conditional the node built from this stored response's validators,
        // and there is nothing in it that could name another (RFC 9111 4.3.4's last case, read for the one response asked about).
        return true;
    }

    private static bool IsWeak(string etag) => etag.StartsWith("W/", StringComparison.Ordinal);

    private static ReadOnlySpan<char> Opaque(string etag) => IsWeak(etag) ? etag.AsSpan(2) : etag;
}
