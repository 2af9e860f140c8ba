using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Proxy;

/// <summary>
/// RFC 9110 7.6.1: the fields a viewer names in its Connection header are for the node alone and are removed before
/// anything else reads the request. Removed rather than merely not forwarded, because the cache key and Vary matching
/// read the same headers: a keyed header the origin never saw would store the origin's answer for its absence under
/// the variant for its presence.
/// </summary>
public static class ConnectionListedHeaders
{
    public static void Remove(IHeaderDictionary headers)
    {
        var connection = headers.Connection;
        if (connection.Count == 0)
        {
            return;
        }

        foreach (var line in connection)
        {
            var span = line.AsSpan();
            foreach (var range in span.Split(','))
            {
                var option = span[range].Trim(" \t");
                // The usual options name no header the node reads (Keep-Alive and Upgrade are never forwarded or keyed),
                // and checking them first keeps a viewer's "Connection: keep-alive" from costing a string per request.
                // Framing and Host stay: Kestrel has already framed the request by them, and neither is forwarded.
                if (option.IsEmpty
                    || option.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
                    || option.Equals("close", StringComparison.OrdinalIgnoreCase)
                    || option.Equals("upgrade", StringComparison.OrdinalIgnoreCase)
                    || option.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
                    || option.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase)
                    || option.Equals(HeaderNames.Host, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                headers.Remove(option.ToString());
            }
        }
    }
}
