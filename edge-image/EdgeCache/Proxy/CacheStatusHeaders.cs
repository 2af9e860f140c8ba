using System.Collections.Concurrent;
using System.Globalization;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace EdgeCache.Proxy;

/// <summary>
/// The trace a response carries: Cache-Status (RFC 9211) starting with this node's name, X-Cache (CloudFront's word for
/// the outcome) and the node's Via entry. One per node; the values that repeat are formatted once.
/// </summary>
internal sealed class CacheStatusHeaders
{
    private readonly string _nodeName;

    // Origin statuses are three digits and miss reasons three, so this stays small.
    private readonly ConcurrentDictionary<(ForwardReason Reason, int OriginStatus, bool Stored, bool Collapsed), CacheStatus> _misses = new();

    public CacheStatusHeaders(IOptions<EdgeCacheOptions> options)
    {
        _nodeName = options.Value.Node.Name;
        Via = ViaHeader.For(_nodeName);
        HitPrefix = _nodeName + "; hit; ttl=";
    }

    /// <summary>This node's Via entry (<see cref="ViaHeader"/>).</summary>
    public string Via { get; }

    /// <summary>"{node}; hit; ttl=": a fresh hit's Cache-Status up to its ttl, which <see cref="HitHeaderValues"/> formats once a second.</summary>
    public string HitPrefix { get; }

    /// <summary>This node's name alone: a response the node answered itself, with nothing more to say.</summary>
    public CacheStatus Node => new(_nodeName);

    public CacheStatus Hit(long ttl) => new(HitPrefix + ttl.ToString(CultureInfo.InvariantCulture));

    public CacheStatus Forward(ForwardReason reason) => new(_nodeName + "; fwd=" + reason.WireName());

    /// <summary>A status with no <c>fwd</c>: the node answered without, or before, going to the origin.</summary>
    public CacheStatus Detail(string detail) => Node.WithDetail(detail);

    /// <summary>
    /// A miss's status, kept per (reason, origin status, stored, collapsed): every miss sends one, and the few
    /// combinations that occur repeat, so building it each time cost two strings per miss.
    /// </summary>
    public CacheStatus Miss(ForwardReason reason, int originStatus, bool stored, bool collapsed) =>
        _misses.GetOrAdd(
            (reason, originStatus, stored, collapsed),
            static (key, self) => self.Forward(key.Reason).WithFwdStatus(key.OriginStatus).WithStored(key.Stored).WithCollapsed(key.Collapsed),
            this);

    /// <summary>Sets X-Cache and Cache-Status, and Via unless the response carries a chain already (the origin's, with this node's entry).</summary>
    public void Apply(IHeaderDictionary headers, CacheOutcome outcome, CacheStatus status)
    {
        if (headers.Via.Count == 0)
        {
            headers.Via = Via;
        }

        headers["X-Cache"] = XCache(outcome);
        headers["Cache-Status"] = status.Value;
    }

    /// <summary>A fresh hit's trace, from the strings its entry keeps for the current second.</summary>
    public void ApplyFreshHit(IHeaderDictionary headers, HitHeaderValues values)
    {
        if (headers.Via.Count == 0)
        {
            // An entry whose origin sent Via stores the chain with this node's entry already appended (ViaHeader).
            headers.Via = Via;
        }

        headers["X-Cache"] = "Hit";
        headers["Cache-Status"] = values.CacheStatus;
    }

    private static string XCache(CacheOutcome outcome) => outcome switch
    {
        CacheOutcome.Hit => "Hit",
        CacheOutcome.RefreshHit => "RefreshHit",
        CacheOutcome.Stale => "Stale",
        CacheOutcome.Error => "Error",
        _ => "Miss",
    };
}
