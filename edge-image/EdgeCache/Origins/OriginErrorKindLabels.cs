namespace EdgeCache.Origins;

/// <summary>The snake_case name of an <see cref="OriginErrorKind"/> in metrics labels, Cache-Status details and /readyz.</summary>
public static class OriginErrorKindLabels
{
    public static string Label(this OriginErrorKind kind) => kind switch
    {
        OriginErrorKind.Connect => "connect",
        OriginErrorKind.Timeout => "timeout",
        OriginErrorKind.Protocol => "protocol",
        OriginErrorKind.AccessDenied => "access_denied",
        OriginErrorKind.NoSuchBucket => "no_such_bucket",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
