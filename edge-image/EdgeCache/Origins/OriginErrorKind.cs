namespace EdgeCache.Origins;

public enum OriginErrorKind
{
    /// <summary>Could not connect (refused, DNS, TLS): 502.</summary>
    Connect,

    /// <summary>No response headers or body bytes within the read timeout: 504.</summary>
    Timeout,

    /// <summary>Malformed response or connection reset: 502.</summary>
    Protocol,

    /// <summary>The origin refused the node's own access (S3: a 403, a KMS error, refused credentials): 502.</summary>
    AccessDenied,

    /// <summary>The configured S3 bucket does not exist: 502, never a 404 for every key.</summary>
    NoSuchBucket,
}
