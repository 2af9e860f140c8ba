using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// originRequest.headers "allViewer" / "allViewerExceptHost" and cookies "all": which of a viewer's fields reach the
/// origin, and the rule that keeps a response that may depend on an unkeyed one from being shared.
/// </summary>
public sealed class AllViewerForwardingTests
{
    [Fact]
    public void All_viewer_headers_are_forwarded_except_hop_by_hop_trust_boundary_cookie_and_the_caches_own_on_get()
    {
        var headers = Viewer();
        var forwarded = Names(ForwardedRequestHeaders.For(Behavior("allViewer"), headers, cacheable: true));

        Assert.Equal(["accept", "accept-language", "authorization", "host", "user-agent", "x-custom"], forwarded);
    }

    [Fact]
    public void All_viewer_headers_except_host_leaves_host_to_the_origin_settings()
    {
        var forwarded = Names(ForwardedRequestHeaders.For(Behavior("allViewerExceptHost"), Viewer(), cacheable: true));

        Assert.Equal(["accept", "accept-language", "authorization", "user-agent", "x-custom"], forwarded);
    }

    [Fact]
    public void An_unsafe_method_forwards_its_conditionals_range_and_cache_directives_too()
    {
        var forwarded = Names(ForwardedRequestHeaders.For(Behavior("allViewerExceptHost"), Viewer(), cacheable: false));

        Assert.Equal(["accept", "accept-encoding", "accept-language", "authorization", "cache-control", "if-match", "if-none-match", "range", "user-agent", "x-custom"], forwarded);
    }

    [Fact]
    public void All_cookies_are_forwarded_as_the_viewer_sent_them()
    {
        var behavior = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", OriginRequest = new OriginRequestOptions { Cookies = ForwardedNames.Keyword("all") } });
        var headers = new HeaderDictionary { ["Cookie"] = new StringValues(["a=1; b=2", "c=3"]) };

        var cookie = Assert.Single(ForwardedRequestHeaders.For(behavior, headers, cacheable: true));

        Assert.Equal("Cookie", cookie.Key);
        Assert.Equal("a=1; b=2; c=3", cookie.Value);
    }

    [Fact]
    public void Rfc9111_4_1_a_response_is_shared_only_when_its_vary_names_every_unkeyed_header_that_was_forwarded()
    {
        var behavior = Behavior("allViewerExceptHost", keyHeaders: ["Accept-Language"]);
        var forwarded = ForwardedRequestHeaders.For(behavior, new HeaderDictionary { ["Accept-Language"] = "de", ["User-Agent"] = "ua", ["X-Custom"] = "1" }, cacheable: true);

        Assert.Equal("unvaried:user-agent", UnkeyedForwarding.UnvariedReason(behavior, forwarded, Response()));
        Assert.Equal("unvaried:x-custom", UnkeyedForwarding.UnvariedReason(behavior, forwarded, Response("User-Agent")));
        Assert.Null(UnkeyedForwarding.UnvariedReason(behavior, forwarded, Response("user-agent, X-Custom")));
        Assert.Null(UnkeyedForwarding.UnvariedReason(behavior, forwarded, Response("X-Custom", "User-Agent")));
    }

    [Fact]
    public void Rfc9111_4_1_cookies_beyond_the_key_need_vary_cookie()
    {
        var behavior = new CacheBehavior(0, new BehaviorOptions
        {
            PathPattern = "*",
            Origin = "o",
            CacheKey = new CacheKeyOptions { Cookies = ["session"] },
            OriginRequest = new OriginRequestOptions { Cookies = ForwardedNames.Keyword("all") },
        });

        var keyedOnly = ForwardedRequestHeaders.For(behavior, new HeaderDictionary { ["Cookie"] = "session=1" }, cacheable: true);
        var more = ForwardedRequestHeaders.For(behavior, new HeaderDictionary { ["Cookie"] = "session=1; theme=dark" }, cacheable: true);

        Assert.Null(UnkeyedForwarding.UnvariedReason(behavior, keyedOnly, Response()));
        Assert.Equal("unvaried:cookie", UnkeyedForwarding.UnvariedReason(behavior, more, Response()));
        Assert.Null(UnkeyedForwarding.UnvariedReason(behavior, more, Response("Cookie")));
    }

    [Fact]
    public void Named_headers_keep_todays_rule_the_operator_vouches_for_them()
    {
        var behavior = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", OriginRequest = new OriginRequestOptions { Headers = ["X-Custom"] } });
        var forwarded = ForwardedRequestHeaders.For(behavior, new HeaderDictionary { ["X-Custom"] = "1", ["User-Agent"] = "ua" }, cacheable: true);

        Assert.Equal(["x-custom"], Names(forwarded));
        Assert.Null(UnkeyedForwarding.UnvariedReason(behavior, forwarded, Response()));
    }

    private static CacheBehavior Behavior(string keyword, List<string>? keyHeaders = null) => new(0, new BehaviorOptions
    {
        PathPattern = "*",
        Origin = "o",
        CacheKey = new CacheKeyOptions { Headers = keyHeaders ?? [] },
        OriginRequest = new OriginRequestOptions { Headers = ForwardedNames.Keyword(keyword) },
    });

    private static HeaderDictionary Viewer() => new()
    {
        ["Host"] = "viewer.example",
        ["User-Agent"] = "ua",
        ["Accept"] = "text/html",
        ["Accept-Language"] = "de",
        ["Accept-Encoding"] = "gzip",
        ["Authorization"] = "Bearer t",
        ["X-Custom"] = "1",
        ["Cookie"] = "a=1",
        ["Connection"] = "keep-alive",
        ["Keep-Alive"] = "timeout=5",
        ["TE"] = "trailers",
        ["Upgrade"] = "h2c",
        ["Proxy-Authorization"] = "Basic x",
        ["Content-Length"] = "0",
        ["Expect"] = "100-continue",
        ["X-Forwarded-For"] = "10.0.0.1",
        ["X-Forwarded-Proto"] = "https",
        ["Forwarded"] = "for=10.0.0.1",
        ["X-Real-IP"] = "10.0.0.1",
        ["If-None-Match"] = "\"a\"",
        ["If-Match"] = "\"b\"",
        ["Range"] = "bytes=0-1",
        ["Cache-Control"] = "no-cache",
    };

    private static List<string> Names(IReadOnlyList<KeyValuePair<string, string>> forwarded) =>
        [.. forwarded.Select(f => f.Key.ToLowerInvariant()).Order(StringComparer.Ordinal)];

    private static List<KeyValuePair<string, StringValues>> Response(params string[] vary) =>
        vary.Length == 0 ? [] : [new("Vary", new StringValues(vary))];
}
