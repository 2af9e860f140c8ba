using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Caching;

/// <summary>
/// The piece of a representation a stored 206 holds (RFC 9111 3.3): bytes <see cref="First"/> to <see cref="Last"/> of
/// <see cref="CompleteLength"/>. Only a single-range 206 whose complete length is known and whose Content-Length is the
/// range's own is stored: a multipart 206, an unknown length (<c>/*</c>) or a body that disagrees with its Content-Range
/// is relayed to its viewer and kept by no one, since a range served from it could not be checked against the whole.
/// </summary>
public readonly record struct PartialContent(long First, long Last, long CompleteLength)
{
    public long Length => Last - First + 1;

    /// <summary>The piece a 206's headers and Content-Length describe, or null when it is not one the node stores.</summary>
    public static PartialContent? Of(IReadOnlyList<KeyValuePair<string, StringValues>> headers, long? contentLength)
    {
        var contentRange = CachePolicy.Find(headers, HeaderNames.ContentRange);
        if (contentRange.Count != 1
            || !ContentRangeHeaderValue.TryParse(contentRange[0], out var parsed)
            || !string.Equals(parsed.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase)
            || parsed is not { From: { } first, To: { } last, Length: { } complete }
            || last >= complete
            || contentLength != last - first + 1)
        {
            return null;
        }

        return new PartialContent(first, last, complete);
    }

    /// <summary>The piece a stored 206 entry holds; null for any other entry.</summary>
    public static PartialContent? Of(CacheEntry entry) =>
        entry.StatusCode == 206 ? Of(entry.Headers, entry.ContentLength) : null;

    public bool Contains(long start, long end) => start >= First && end <= Last;
}
