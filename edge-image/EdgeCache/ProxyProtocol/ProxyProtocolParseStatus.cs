namespace EdgeCache.ProxyProtocol;

public enum ProxyProtocolParseStatus
{
    /// <summary>Valid so far, but the header has not arrived whole yet.</summary>
    Incomplete,

    /// <summary>A whole, valid header.</summary>
    Complete,

    /// <summary>Not a valid v2 header: the connection is to be closed.</summary>
    Invalid,
}
