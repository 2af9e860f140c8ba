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

    public CacheStatus WithDetail(string detail) => With("detail=" + detail);

    public override string ToString() => Value;

    private CacheStatus With(string parameter) => new(Value + "; " + parameter);
}
