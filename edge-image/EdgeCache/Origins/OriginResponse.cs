using Microsoft.Extensions.Primitives;

namespace EdgeCache.Origins;

/// <summary>An origin's answer: status, end-to-end headers and the body stream, owned by whoever reads it.</summary>
public sealed class OriginResponse(int statusCode, List<KeyValuePair<string, StringValues>> headers, long? contentLength, Stream body, IDisposable? owner = null)
    : IDisposable
{
    public int StatusCode { get; } = statusCode;

    /// <summary>End-to-end headers (hop-by-hop and Content-Length removed).</summary>
    public List<KeyValuePair<string, StringValues>> Headers { get; } = headers;

    public long? ContentLength { get; } = contentLength;

    public Stream Body { get; } = body;

    /// <summary>
    /// A short plain-text answer the node gives in the origin's place (a request it will not send, an S3 error), with
    /// <paramref name="cacheControl"/> and any <paramref name="extraHeaders"/>.
    /// </summary>
    public static OriginResponse Text(int statusCode, string text, string cacheControl, params KeyValuePair<string, StringValues>[] extraHeaders)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        List<KeyValuePair<string, StringValues>> headers = [new("Content-Type", "text/plain; charset=utf-8"), new("Cache-Control", cacheControl), .. extraHeaders];
        return new OriginResponse(statusCode, headers, bytes.Length, new MemoryStream(bytes));
    }

    public void Dispose()
    {
        Body.Dispose();
        owner?.Dispose();
    }
}
