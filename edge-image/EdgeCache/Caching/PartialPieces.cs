using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Caching;

/// <summary>
/// Combines a newly arrived 206 piece with the one stored for the same variant (RFC 9111 3.4): only when both carry the
/// same strong entity tag and the same complete length, and the pieces overlap or adjoin. The result is one piece, or
/// the whole object as a 200 once the pieces cover every byte. Anything else (a weak or changed validator, a gap
/// between the pieces) leaves the newer piece to replace the older, so bytes of two representations never mix.
/// </summary>
public static class PartialPieces
{
    /// <summary>
    /// What to store for <paramref name="newer"/>, a 206 entry whose body has arrived whole (its fetch marks it complete
    /// only after storing), given what the variant holds now.
    /// </summary>
    /// <param name="maxBytes">The largest body the memory tier takes (cache.maxObjectBytes): a larger combination is not made.</param>
    public static CacheEntry Combine(CacheEntry? stored, CacheEntry newer, long maxBytes)
    {
        if (stored is null
            || PartialContent.Of(stored) is not { } older
            || PartialContent.Of(newer) is not { } piece
            || older.CompleteLength != piece.CompleteLength
            || !SameStrongValidator(stored.ETag, newer.ETag)
            || piece.First > older.Last + 1
            || older.First > piece.Last + 1
            || stored.Body.IsFileBacked
            || newer.Body.IsFileBacked
            || !stored.Body.IsCompleted
            || stored.Body.Length != older.Length
            || newer.Body.Length != piece.Length)
        {
            return newer;
        }

        var first = Math.Min(older.First, piece.First);
        var last = Math.Max(older.Last, piece.Last);
        var length = last - first + 1;
        if (length > maxBytes)
        {
            return newer;
        }

        // The older piece's bytes, then the newer's over them: with one strong validator they are the same bytes.
        var bytes = new byte[length];
        stored.Body.ToArray().CopyTo(bytes, older.First - first);
        newer.Body.ToArray().CopyTo(bytes, piece.First - first);
        var whole = first == 0 && last == piece.CompleteLength - 1;

        // The newer response's header fields describe the stored response from now on (RFC 9111 3.4), with the
        // Content-Range of what is held, or none for the whole object.
        var headers = new List<KeyValuePair<string, StringValues>>(newer.Headers.Count);
        foreach (var header in newer.Headers)
        {
            if (!header.Key.Equals(HeaderNames.ContentRange, StringComparison.OrdinalIgnoreCase))
            {
                headers.Add(header);
            }
        }

        if (!whole)
        {
            headers.Add(new(HeaderNames.ContentRange, $"bytes {first}-{last}/{piece.CompleteLength}"));
        }

        return new CacheEntry
        {
            StatusCode = whole ? 200 : 206,
            Headers = [.. headers],
            Body = CachedBody.FromBytes(bytes),
            ContentLength = length,
            RequestTime = newer.RequestTime,
            ResponseTime = newer.ResponseTime,
            CorrectedInitialAge = newer.CorrectedInitialAge,
            FreshnessLifetime = newer.FreshnessLifetime,
            CacheControl = newer.CacheControl,
            VaryNames = newer.VaryNames,
            SecondaryKey = newer.SecondaryKey,
            ETag = newer.ETag,
            LastModified = newer.LastModified,
        };
    }

    /// <summary>RFC 9110 8.8.3.2 strong comparison: both tags present, neither weak, and the same characters.</summary>
    private static bool SameStrongValidator(string? a, string? b) =>
        a is not null && b is not null && !a.StartsWith("W/", StringComparison.Ordinal) && !b.StartsWith("W/", StringComparison.Ordinal) && a == b;
}
