using System.Text;
using EdgeCache.Caching;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Proxy;

/// <summary>
/// A Range request on a stored 200, or on a stored 206 piece that holds every range asked for (RFC 9111 3.3): 206 with
/// one range as is, several as multipart/byteranges (RFC 9110 14.6), or 416.
/// </summary>
internal static class RangeResponses
{
    /// <summary>Answers the request's Range if it has a usable one; false when the whole body is to be sent instead.</summary>
    public static async ValueTask<bool> TryServeAsync(HttpContext context, RequestState state, CacheEntry entry, StringValues etag, long total)
    {
        var decision = ByteRanges.Evaluate(context.Request, total, etag, entry.LastModified, out var ranges);
        return await AnswerAsync(context, state, entry, decision, ranges, total, 0).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether <paramref name="entry"/> can answer the request: any entry but a 206 can; a 206 piece only a GET whose
    /// ranges all lie inside it (or none of which the complete length satisfies), never a request for the whole.
    /// </summary>
    public static bool CanAnswer(HttpRequest request, CacheEntry entry)
    {
        if (entry.StatusCode != StatusCodes.Status206PartialContent)
        {
            return true;
        }

        return PartialContent.Of(entry) is { } piece && Evaluate(request, entry, piece, out _) != ByteRanges.Decision.Full;
    }

    /// <summary>Answers the request from a stored 206 piece when <see cref="CanAnswer"/>; false, with nothing sent, otherwise.</summary>
    public static async ValueTask<bool> TryServePieceAsync(HttpContext context, RequestState state, CacheEntry entry, PartialContent piece)
    {
        var decision = Evaluate(context.Request, entry, piece, out var ranges);
        return await AnswerAsync(context, state, entry, decision, ranges, piece.CompleteLength, piece.First).ConfigureAwait(false);
    }

    /// <summary>416 or 206 for <paramref name="decision"/>; false, with nothing sent, when the whole body is to be sent.</summary>
    private static async ValueTask<bool> AnswerAsync(HttpContext context, RequestState state, CacheEntry entry, ByteRanges.Decision decision, List<(long Start, long End)> ranges, long total, long bodyOffset)
    {
        switch (decision)
        {
            case ByteRanges.Decision.Unsatisfiable:
                context.Response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                context.Response.Headers.ContentRange = $"bytes */{total}";
                context.Response.ContentLength = 0;
                return true;
            case ByteRanges.Decision.Partial:
                await ServeAsync(context, state, entry, ranges, total, bodyOffset).ConfigureAwait(false);
                return true;
            default:
                return false;
        }
    }

    /// <summary>The request's ranges against the piece's complete length; <see cref="ByteRanges.Decision.Full"/> when one falls outside the piece.</summary>
    private static ByteRanges.Decision Evaluate(HttpRequest request, CacheEntry entry, PartialContent piece, out List<(long Start, long End)> ranges)
    {
        var decision = ByteRanges.Evaluate(request, piece.CompleteLength, entry.GetHeader(HeaderNames.ETag), entry.LastModified, out ranges);
        foreach (var (start, end) in ranges)
        {
            if (!piece.Contains(start, end))
            {
                return ByteRanges.Decision.Full;
            }
        }

        return decision;
    }

    /// <summary>Bytes go out as soon as they arrive: a range of a body still being fetched is sent while it fills.</summary>
    /// <param name="offset">Where the stored body starts in the representation: 0 for a whole one, a piece's first byte for a 206.</param>
    private static async Task ServeAsync(HttpContext context, RequestState state, CacheEntry entry, List<(long Start, long End)> ranges, long total, long offset)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status206PartialContent;
        if (ranges.Count == 1)
        {
            var (start, end) = ranges[0];
            response.Headers.ContentRange = ByteRanges.ContentRange(start, end, total);
            response.ContentLength = end - start + 1;
            await EntryResponder.CopyBodyAsync(context, state, entry.Body, start - offset, end + 1 - offset).ConfigureAwait(false);
            return;
        }

        var boundary = "edgecache-" + Guid.NewGuid().ToString("N");
        var contentType = entry.GetHeader(HeaderNames.ContentType).ToString();
        var parts = ranges.Select(r => Encoding.ASCII.GetBytes(
            $"--{boundary}\r\n" + (contentType.Length > 0 ? $"Content-Type: {contentType}\r\n" : "") + $"Content-Range: {ByteRanges.ContentRange(r.Start, r.End, total)}\r\n\r\n")).ToList();
        var closing = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
        var crlf = "\r\n"u8.ToArray();
        response.ContentType = "multipart/byteranges; boundary=" + boundary;
        response.Headers.Remove(HeaderNames.ContentEncoding);
        response.Headers.Remove(HeaderNames.ContentRange);
        response.ContentLength = parts.Sum(p => p.Length) + ranges.Sum(r => r.End - r.Start + 1) + ((ranges.Count - 1) * crlf.Length) + closing.Length;
        for (var i = 0; i < ranges.Count; i++)
        {
            if (i > 0)
            {
                await response.BodyWriter.WriteAsync(crlf, context.RequestAborted).ConfigureAwait(false);
            }

            await response.BodyWriter.WriteAsync(parts[i], context.RequestAborted).ConfigureAwait(false);
            await EntryResponder.CopyBodyAsync(context, state, entry.Body, ranges[i].Start - offset, ranges[i].End + 1 - offset).ConfigureAwait(false);
        }

        await response.BodyWriter.WriteAsync(closing, context.RequestAborted).ConfigureAwait(false);
    }
}
