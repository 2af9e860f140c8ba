namespace EdgeCache.Syntax;

/// <summary>
/// The methods the node treats specially, compared case-sensitively as RFC 9110 9.1 says. ASP.NET Core's
/// <c>HttpMethods.Is*</c> ignore case, so with them a viewer's "get" would be served from the cache as a GET; here it is
/// not GET: never answered from the cache, and refused with 501, since the origin client cannot send it as spelled.
/// </summary>
public static class RequestMethod
{
    public static bool IsGet(string method) => method == "GET";

    public static bool IsHead(string method) => method == "HEAD";

    public static bool IsPost(string method) => method == "POST";

    /// <summary>GET or HEAD: the methods the node answers from its cache.</summary>
    public static bool IsGetOrHead(string method) => method is "GET" or "HEAD";

    /// <summary>RFC 9110 9.2.1: a response to any other method, an extension method included, invalidates (RFC 9111 4.4).</summary>
    public static bool IsSafe(string method) => method is "GET" or "HEAD" or "OPTIONS" or "TRACE";
}
