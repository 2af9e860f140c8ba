namespace EdgeCache.Proxy;

/// <summary>Why a request went to the origin: Cache-Status's <c>fwd</c> parameter (RFC 9211 2.2).</summary>
public enum ForwardReason
{
    /// <summary>Nothing stored for the URL.</summary>
    UriMiss,

    /// <summary>The URL is stored, but not the variant this request's headers select.</summary>
    VaryMiss,

    /// <summary>The stored response is stale (or the request would not accept it): revalidated or refetched.</summary>
    Stale,

    /// <summary>The stored response is a piece (a 206) that does not hold what the request asks for.</summary>
    Partial,

    /// <summary>The request's own Cache-Control kept the cache out of it (no-store).</summary>
    Request,

    /// <summary>Released from a collapsed fetch whose response was for its leader alone.</summary>
    Bypass,

    /// <summary>A method the cache does not answer (POST, PUT, DELETE, ...).</summary>
    Method,
}
