using System.Globalization;

namespace EdgeCache.Proxy;

/// <summary>
/// A Cache-Status value (RFC 9211): this node's name, then its parameters in the order they were added. Started by
/// <see cref="CacheStatusHeaders"/>, which also writes it with X-Cache and Via.
/// </summary>
internal readonly struct CacheStatus
{
    internal CacheStatus(string value) => Value = value;

    /// <summary>The whole header value, node name first.</summary>
    public string Value { get; }

    public CacheStatus WithFwdStatus(int status) => With("fwd-status=" + status.ToString(CultureInfo.InvariantCulture));

    public CacheStatus WithTtl(long seconds) => With("ttl=" + seconds.ToString(CultureInfo.InvariantCulture));

    /// <summary>The response is in the cache now (only claimed once the fetch has stored it).</summary>
    public CacheStatus WithStored(bool stored) => stored ? With("stored") : this;

    /// <summary>The response came from a fetch another request started.</summary>
    public CacheStatus WithCollapsed(bool collapsed) => collapsed ? With("collapsed") : this;

    /// <summary>
    /// RFC 9211 2.8: a token when the detail is one (the node's own reasons all are), otherwise an sf-string, so that a
    /// detail carrying what an origin sent (a content coding, an error text) still leaves a header that parses.
    /// </summary>
    public CacheStatus WithDetail(string detail) => With("detail=" + (IsSfToken(detail) ? detail : SfString(detail)));

    /// <summary>RFC 8941 3.3.4: ( ALPHA / "*" ) *( tchar / ":" / "/" ).</summary>
    internal static bool IsSfToken(string value)
    {
        if (value.Length == 0 || !(char.IsAsciiLetter(value[0]) || value[0] == '*'))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(Syntax.HttpToken.IsTokenChar(c) || c is ':' or '/'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 8941 3.3.3: quoted, '"' and '\' escaped, and anything outside %x20-7E (which a string cannot hold) as '?'.</summary>
    private static string SfString(string value)
    {
        var sb = new System.Text.StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return sb.Append('"').ToString();
    }

    public override string ToString() => Value;

    private CacheStatus With(string parameter) => new(Value + "; " + parameter);
}
