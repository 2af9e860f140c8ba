using EdgeCache.Caching;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Proxy;

/// <summary>
/// Range requests against a stored full representation (RFC 9110 14): parsing with Microsoft.Net.Http.Headers,
/// then resolving each range against the length, If-Range, and the 416 case. Overlapping, adjacent and nearly adjacent
/// ranges are served as one (RFC 9110 14.6 allows it), so a response never carries a byte twice: however a viewer
/// writes its Range, the 206 is at most the representation plus one part's headers per range.
/// </summary>
public static class ByteRanges
{
    /// <summary>
    /// A Range of more range-specs than this is answered with the whole representation (RFC 9110 14.2 allows ignoring
    /// Range); Apache's MaxRanges does the same with a larger default.
    /// </summary>
    public const int MaxRanges = 16;

    /// <summary>
    /// Ranges this close are served as one part: the bytes between cost less than a part's own boundary and headers.
    /// </summary>
    public const int CoalesceGapBytes = 80;

    public enum Decision
    {
        /// <summary>No usable Range: serve 200 with the whole body.</summary>
        Full,

        /// <summary>Serve 206 with <c>ranges</c>.</summary>
        Partial,

        /// <summary>416 with Content-Range: bytes */length.</summary>
        Unsatisfiable,
    }

    public static Decision Evaluate(HttpRequest request, long length, StringValues etag, DateTimeOffset? lastModified, out List<(long Start, long End)> ranges)
    {
        ranges = [];
        var header = request.Headers.Range;
        if (header.Count == 0 || !RequestMethod.IsGet(request.Method))
        {
            return Decision.Full;
        }

        if (request.Headers.IfRange.Count > 0 && !IfRangeMatches(request.Headers.IfRange.ToString(), etag, lastModified))
        {
            return Decision.Full;
        }

        if (!RangeHeaderValue.TryParse(header.ToString(), out var parsed) || !string.Equals(parsed.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase)
            || parsed.Ranges.Count is 0 or > MaxRanges)
        {
            // An unparsable or over-long Range is ignored, as RFC 9110 14.2 allows.
            return Decision.Full;
        }

        foreach (var range in parsed.Ranges)
        {
            long start, end;
            if (range.From is { } from)
            {
                if (from >= length)
                {
                    continue;
                }

                start = from;
                end = range.To is { } to && to < length - 1 ? to : length - 1;
            }
            else if (range.To is { } suffix && suffix > 0)
            {
                start = Math.Max(0, length - suffix);
                end = length - 1;
            }
            else
            {
                continue;
            }

            if (length > 0)
            {
                ranges.Add((start, end));
            }
        }

        if (ranges.Count == 0)
        {
            return Decision.Unsatisfiable;
        }

        if (ranges.Count > 1)
        {
            ranges = Coalesce(ranges);
        }

        return Decision.Partial;
    }

    /// <summary>
    /// Merges ranges that overlap or lie within <see cref="CoalesceGapBytes"/> of each other. The parts keep the order in
    /// which their first range was asked for, as RFC 9110 14.6 asks of the ranges left uncoalesced.
    /// </summary>
    public static List<(long Start, long End)> Coalesce(List<(long Start, long End)> ranges)
    {
        var byStart = ranges.Select((range, index) => (range.Start, range.End, Index: index)).OrderBy(r => r.Start).ToList();
        var merged = new List<(long Start, long End, int Index)>(byStart.Count);
        foreach (var next in byStart)
        {
            if (merged.Count > 0 && next.Start - merged[^1].End <= CoalesceGapBytes + 1)
            {
                var last = merged[^1];
                merged[^1] = (last.Start, Math.Max(last.End, next.End), Math.Min(last.Index, next.Index));
            }
            else
            {
                merged.Add(next);
            }
        }

        return [.. merged.OrderBy(r => r.Index).Select(r => (r.Start, r.End))];
    }

    /// <summary>RFC 9110 13.1.5: If-Range holds a strong entity tag or an HTTP date, compared exactly.</summary>
    private static bool IfRangeMatches(string ifRange, StringValues etag, DateTimeOffset? lastModified)
    {
        ifRange = ifRange.Trim();
        if (ifRange.StartsWith('"') || ifRange.StartsWith("W/", StringComparison.Ordinal))
        {
            var current = etag.Count > 0 ? etag[0] : null;
            return current is not null && !current.StartsWith("W/", StringComparison.Ordinal) && !ifRange.StartsWith("W/", StringComparison.Ordinal) && current == ifRange;
        }

        // One HTTP-date parser for every field (RFC 9110 5.6.7); a two-digit year is read near the date it is compared with.
        return lastModified is { } lm && HttpDate.TryParse(ifRange, lm, out var date) && lm == date;
    }

    public static string ContentRange(long start, long end, long length) => $"bytes {start}-{end}/{length}";
}
