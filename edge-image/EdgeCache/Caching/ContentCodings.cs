using System.IO.Compression;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Caching;

/// <summary>
/// A content coding the origin applied although the node asked it for identity. The response is stored once, as the
/// origin sent it, and negotiated when served: a viewer whose Accept-Encoding admits the coding gets it as is, any other
/// viewer gets it decoded (RFC 9110 12.5.3: without an acceptable coding, send none), or 406 for a coding the node cannot
/// decode. A request without Accept-Encoding is taken to want identity, as nginx's gunzip and most CDNs take it: the
/// RFC lets such a viewer be sent any coding, but the clients that omit the header are the ones that cannot decode.
/// </summary>
public static class ContentCodings
{
    /// <summary>The coding to undo for this viewer, or null when <paramref name="contentEncoding"/> is acceptable to it as is.</summary>
    public static string? ToUndo(StringValues contentEncoding, StringValues acceptEncoding)
    {
        if (contentEncoding.Count == 0)
        {
            return null;
        }

        var coding = contentEncoding.Count == 1 ? contentEncoding[0]!.Trim() : string.Join(", ", contentEncoding.ToArray());
        if (coding.Length == 0 || coding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return Accepts(acceptEncoding, coding) ? null : coding;
    }

    /// <summary>A stream of <paramref name="encoded"/>'s decoded bytes, or null for a coding the node cannot undo (or several stacked).</summary>
    public static Stream? OpenDecoder(string coding, Stream encoded) => coding.ToLowerInvariant() switch
    {
        "gzip" or "x-gzip" => new GZipStream(encoded, CompressionMode.Decompress),
        // HTTP's "deflate" is the zlib format (RFC 9110 8.4.1.2).
        "deflate" => new ZLibStream(encoded, CompressionMode.Decompress),
        "br" => new BrotliStream(encoded, CompressionMode.Decompress),
        _ => null,
    };

    public static bool CanDecode(string coding) => coding.ToLowerInvariant() is "gzip" or "x-gzip" or "deflate" or "br";

    /// <summary>
    /// Adds Accept-Encoding to the Vary of a response whose coding the origin chose: what the node sends for it depends
    /// on the viewer's Accept-Encoding, and caches further down must know.
    /// </summary>
    public static void AddVary(List<KeyValuePair<string, StringValues>> headers)
    {
        var coding = CachePolicy.Find(headers, HeaderNames.ContentEncoding);
        if (coding.Count == 0 || (coding.Count == 1 && coding[0]!.Trim().Equals("identity", StringComparison.OrdinalIgnoreCase)))
        {
            return;
        }

        for (var i = 0; i < headers.Count; i++)
        {
            var (name, value) = headers[i];
            if (name.Equals(HeaderNames.Vary, StringComparison.OrdinalIgnoreCase))
            {
                var names = CacheKeyBuilder.ParseVary(value);
                if (!names.Contains(CacheKeyBuilder.AcceptEncoding) && !names.Contains("*"))
                {
                    headers[i] = new(name, string.Join(", ", value.ToArray()) + ", Accept-Encoding");
                }

                return;
            }
        }

        headers.Add(new(HeaderNames.Vary, "Accept-Encoding"));
    }

    /// <summary>Whether <paramref name="acceptEncoding"/> admits every coding in <paramref name="coding"/> (q above 0, by name or by "*").</summary>
    private static bool Accepts(StringValues acceptEncoding, string coding)
    {
        foreach (var range in coding.AsSpan().Split(','))
        {
            var one = coding.AsSpan()[range].Trim();
            if (!one.IsEmpty && Quality(acceptEncoding, one) <= 0)
            {
                return false;
            }
        }

        return true;
    }

    private static double Quality(StringValues acceptEncoding, ReadOnlySpan<char> coding)
    {
        double named = -1, star = -1;
        foreach (var line in acceptEncoding)
        {
            var span = (line ?? "").AsSpan();
            foreach (var range in span.Split(','))
            {
                var part = span[range].Trim();
                var semi = part.IndexOf(';');
                var name = (semi < 0 ? part : part[..semi]).Trim();
                var q = 1.0;
                if (semi >= 0)
                {
                    var param = part[(semi + 1)..].Trim();
                    if (param.StartsWith("q=", StringComparison.OrdinalIgnoreCase)
                        && !double.TryParse(param[2..], System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out q))
                    {
                        q = 0;
                    }
                }

                if (Same(name, coding))
                {
                    named = q;
                }
                else if (name is "*")
                {
                    star = q;
                }
            }
        }

        return named >= 0 ? named : star;
    }

    /// <summary>Coding names compare case-insensitively, and x-gzip is gzip (RFC 9110 8.4.1.3).</summary>
    private static bool Same(ReadOnlySpan<char> a, ReadOnlySpan<char> b) =>
        a.Equals(b, StringComparison.OrdinalIgnoreCase) || (IsGzip(a) && IsGzip(b));

    private static bool IsGzip(ReadOnlySpan<char> name) =>
        name.Equals("gzip", StringComparison.OrdinalIgnoreCase) || name.Equals("x-gzip", StringComparison.OrdinalIgnoreCase);
}
