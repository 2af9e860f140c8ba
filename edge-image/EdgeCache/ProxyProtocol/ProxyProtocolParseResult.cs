namespace EdgeCache.ProxyProtocol;

/// <param name="Length">The header's length in bytes, when <see cref="ProxyProtocolParseStatus.Complete"/>.</param>
/// <param name="Error">Why the header is invalid: a short label (metrics, logs), e.g. "signature", "v1", "tlv".</param>
public readonly record struct ProxyProtocolParseResult(ProxyProtocolParseStatus Status, int Length = 0, ProxyProtocolHeader? Header = null, string? Error = null)
{
    public static ProxyProtocolParseResult Incomplete { get; } = new(ProxyProtocolParseStatus.Incomplete);

    public static ProxyProtocolParseResult Invalid(string error) => new(ProxyProtocolParseStatus.Invalid, Error: error);
}
