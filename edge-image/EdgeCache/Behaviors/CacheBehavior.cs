using System.Collections.Frozen;
using EdgeCache.Configuration;
using EdgeCache.Syntax;

namespace EdgeCache.Behaviors;

/// <summary>A <see cref="BehaviorOptions"/> compiled for the request path: sets and sorted lists ready to use.</summary>
public sealed class CacheBehavior
{
    private static readonly string[] DefaultMethods = ["GET", "HEAD"];

    public CacheBehavior(int index, BehaviorOptions options)
    {
        Index = index;
        KeyPrefix = index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "|";
        Pattern = new PathPattern(options.PathPattern);
        OriginId = options.Origin;
        MinTtl = TimeSpan.FromSeconds(options.MinTtlSeconds);
        DefaultTtl = TimeSpan.FromSeconds(options.DefaultTtlSeconds);
        MaxTtl = TimeSpan.FromSeconds(options.MaxTtlSeconds);
        StaleIfError = TimeSpan.FromSeconds(options.StaleIfErrorSeconds);
        var methods = options.AllowedMethods.Count == 0 ? DefaultMethods : [.. options.AllowedMethods];
        AllowedMethods = methods.ToFrozenSet(StringComparer.Ordinal);
        AllowHeader = string.Join(", ", methods);
        Compress = options.Compress;
        QueryStrings = options.CacheKey.QueryStrings;
        QueryStringNames = options.CacheKey.QueryStringNames.ToFrozenSet(StringComparer.Ordinal);
        KeyHeaders = [.. options.CacheKey.Headers.Select(h => h.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal)];
        KeyCookies = [.. options.CacheKey.Cookies.Distinct().Order(StringComparer.Ordinal)];
        ForwardedHeaders = [.. KeyHeaders.Concat(options.OriginRequest.Headers.Select(h => h.ToLowerInvariant())).Distinct()];
        ForwardedCookies = options.CacheKey.Cookies.Concat(options.OriginRequest.Cookies).ToFrozenSet(StringComparer.Ordinal);
        ForwardAllViewerHeaders = options.OriginRequest.Headers.All is ForwardedNames.AllViewer or ForwardedNames.AllViewerExceptHost;
        ForwardViewerHost = options.OriginRequest.Headers.All == ForwardedNames.AllViewer;
        ForwardAllCookies = options.OriginRequest.Cookies.All == ForwardedNames.AllCookies;
        ForwardAllQueryStrings = options.OriginRequest.AllQueryStrings;
        CacheSetCookieResponses = options.CacheSetCookieResponses;
        RespectViewerCacheControl = options.RespectViewerCacheControl;
        StripCdnCacheControl = options.StripCdnCacheControl;
        ForwardsAuthorization = ForwardAllViewerHeaders || ForwardedHeaders.Contains("authorization");
        ForwardsAcceptEncoding = ForwardedHeaders.Contains("accept-encoding");
    }

    public int Index { get; }

    /// <summary>"{Index}|": how every primary key of this behavior starts.</summary>
    public string KeyPrefix { get; }

    public PathPattern Pattern { get; }

    public string OriginId { get; }

    public TimeSpan MinTtl { get; }

    public TimeSpan DefaultTtl { get; }

    public TimeSpan MaxTtl { get; }

    public TimeSpan StaleIfError { get; }

    public FrozenSet<string> AllowedMethods { get; }

    public string AllowHeader { get; }

    public bool Compress { get; }

    /// <summary>"none", "all" or "allowList".</summary>
    public string QueryStrings { get; }

    public FrozenSet<string> QueryStringNames { get; }

    /// <summary>Lower-case, sorted.</summary>
    public string[] KeyHeaders { get; }

    public string[] KeyCookies { get; }

    /// <summary>Lower-case names of viewer headers sent to the origin (key headers plus originRequest.headers).</summary>
    public string[] ForwardedHeaders { get; }

    public FrozenSet<string> ForwardedCookies { get; }

    /// <summary>
    /// originRequest.headers "allViewer" or "allViewerExceptHost": every end-to-end viewer header goes to the origin
    /// (<see cref="Proxy.ForwardedRequestHeaders"/>), and a response is shared only if its Vary names the unkeyed ones
    /// (<see cref="Caching.UnkeyedForwarding"/>).
    /// </summary>
    public bool ForwardAllViewerHeaders { get; }

    /// <summary>"allViewer": the viewer's Host goes to the origin instead of the origin's own.</summary>
    public bool ForwardViewerHost { get; }

    /// <summary>originRequest.cookies "all".</summary>
    public bool ForwardAllCookies { get; }

    public bool ForwardAllQueryStrings { get; }

    public bool CacheSetCookieResponses { get; }

    public bool RespectViewerCacheControl { get; }

    /// <summary>Remove CDN-Cache-Control from responses before they reach viewers (it is still honoured by this node).</summary>
    public bool StripCdnCacheControl { get; }

    public bool ForwardsAuthorization { get; }

    public bool ForwardsAcceptEncoding { get; }

    public override string ToString() => $"behaviors[{Index}] {Pattern}";
}
