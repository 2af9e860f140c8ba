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

    public void Dispose()
    {
        Body.Dispose();
        owner?.Dispose();
    }
}
