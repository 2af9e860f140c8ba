using System.IO.Compression;
using EdgeCache.Behaviors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Caching;

/// <summary>
/// The node's own compression of what it stores (a behavior's <c>compress</c>): which responses qualify, the headers of
/// the compressed representation, and the compressing stream. Each coding is its own variant (Vary: Accept-Encoding).
/// </summary>
public static class ResponseCompression
{
    /// <summary>Below this a coding's own framing makes the body larger.</summary>
    public const int MinBytes = 1024;

    /// <summary>Larger bodies are stored as the origin sent them.</summary>
    public const int MaxBytes = 10 * 1024 * 1024;

    /// <summary>
    /// The coding to store this response in: null when the behavior does not compress or the response is not eligible
    /// (then one variant serves every viewer), otherwise <paramref name="wantedEncoding"/>, the coding the leader's viewer wants.
    /// </summary>
    public static string? CodingFor(CacheBehavior behavior, int status, IReadOnlyList<KeyValuePair<string, StringValues>> headers, long? contentLength, CacheControl cc, string wantedEncoding)
    {
        if (!behavior.Compress || status != StatusCodes.Status200OK || cc.NoTransform)
        {
            return null;
        }

        if (CachePolicy.Find(headers, HeaderNames.ContentEncoding) is { Count: > 0 } ce && !ce.ToString().Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (contentLength is < MinBytes or > MaxBytes)
        {
            return null;
        }

        return IsCompressible(CachePolicy.Find(headers, HeaderNames.ContentType)) ? wantedEncoding : null;
    }

    public static bool IsCompressible(StringValues contentType)
    {
        if (contentType.Count == 0 || contentType[0] is not { } value)
        {
            return false;
        }

        var semi = value.IndexOf(';', StringComparison.Ordinal);
        var media = (semi < 0 ? value : value[..semi]).Trim().ToLowerInvariant();
        return media.StartsWith("text/", StringComparison.Ordinal)
            || media is "application/javascript" or "application/x-javascript" or "application/json" or "application/xml"
                or "image/svg+xml" or "application/xhtml+xml" or "application/rss+xml" or "application/atom+xml"
                or "application/manifest+json" or "application/ld+json" or "application/wasm"
            || media.EndsWith("+json", StringComparison.Ordinal)
            || media.EndsWith("+xml", StringComparison.Ordinal);
    }

    /// <summary>The headers of the representation in <paramref name="encoding"/>: Vary with Accept-Encoding, its Content-Encoding, a weak ETag.</summary>
    public static List<KeyValuePair<string, StringValues>> Headers(List<KeyValuePair<string, StringValues>> headers, string encoding, string? etag)
    {
        var result = new List<KeyValuePair<string, StringValues>>(headers.Count + 2);
        var varyDone = false;
        foreach (var (name, value) in headers)
        {
            if (name.Equals(HeaderNames.Vary, StringComparison.OrdinalIgnoreCase))
            {
                varyDone = true;
                var names = CacheKeyBuilder.ParseVary(value);
                result.Add(new(name, names.Contains(CacheKeyBuilder.AcceptEncoding) ? value : new StringValues(value.ToString() + ", Accept-Encoding")));
            }
            else if (name.Equals(HeaderNames.ETag, StringComparison.OrdinalIgnoreCase) && encoding != "identity" && etag is not null && !etag.StartsWith("W/", StringComparison.Ordinal))
            {
                // A compressed representation is not byte-identical to the origin's: its validator is weak (as nginx does).
                result.Add(new(name, "W/" + etag));
            }
            else if (!name.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase))
            {
                result.Add(new(name, value));
            }
        }

        if (!varyDone)
        {
            result.Add(new(HeaderNames.Vary, "Accept-Encoding"));
        }

        if (encoding != "identity")
        {
            result.Add(new(HeaderNames.ContentEncoding, encoding));
        }

        return result;
    }

    /// <summary>A stream that compresses into <paramref name="sink"/> ("br" or "gzip", at the fastest level: the node compresses as bytes arrive).</summary>
    public static Stream OpenCompressor(Stream sink, string encoding) => encoding == "br"
        ? new BrotliStream(sink, CompressionLevel.Fastest, leaveOpen: false)
        : new GZipStream(sink, CompressionLevel.Fastest, leaveOpen: false);
}
