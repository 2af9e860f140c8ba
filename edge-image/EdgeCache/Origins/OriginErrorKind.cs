namespace EdgeCache.Origins;

public enum OriginErrorKind
{
    /// <summary>Could not connect (refused, DNS, TLS): 502.</summary>
    Connect,

    /// <summary>No response headers or body bytes within the read timeout: 504.</summary>
    Timeout,

    /// <summary>Malformed response or connection reset: 502.</summary>
    Protocol,
}
