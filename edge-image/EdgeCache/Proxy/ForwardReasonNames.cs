namespace EdgeCache.Proxy;

/// <summary>The RFC 9211 spelling of each <see cref="ForwardReason"/>.</summary>
public static class ForwardReasonNames
{
    public static string WireName(this ForwardReason reason) => reason switch
    {
        ForwardReason.UriMiss => "uri-miss",
        ForwardReason.VaryMiss => "vary-miss",
        ForwardReason.Stale => "stale",
        ForwardReason.Partial => "partial",
        ForwardReason.Request => "request",
        ForwardReason.Bypass => "bypass",
        _ => "method",
    };
}
