using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>Primary keys (behavior policy), secondary keys (Vary) and Accept-Encoding normalization.</summary>
public sealed class CacheKeyTests
{
    [Fact]
    public void Query_parameter_order_does_not_change_the_key_and_unlisted_ones_are_dropped()
    {
        var behavior = Behavior(k => { k.QueryStrings = "allowList"; k.QueryStringNames = ["v", "lang"]; });
        var (a, _) = CacheKeyBuilder.Queries(behavior, new QueryString("?lang=fr&utm=1&v=2"));
        var (b, _) = CacheKeyBuilder.Queries(behavior, new QueryString("?v=2&lang=fr&utm=9"));
        Assert.Equal("lang=fr&v=2", a);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Query_modes_none_and_all_and_forwarding_everything()
    {
        var none = Behavior(k => k.QueryStrings = "none");
        Assert.Equal(("", ""), CacheKeyBuilder.Queries(none, new QueryString("?a=1")));

        var all = Behavior(k => k.QueryStrings = "all");
        Assert.Equal("a=1&b=x%20y", CacheKeyBuilder.Queries(all, new QueryString("?b=x%20y&a=1")).KeyQuery);

        var forwardAll = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", OriginRequest = new OriginRequestOptions { AllQueryStrings = true } });
        Assert.Equal(("", "a=1"), CacheKeyBuilder.Queries(forwardAll, new QueryString("?a=1")));
    }

    [Fact]
    public void Key_headers_and_cookies_change_the_key_others_do_not()
    {
        var behavior = Behavior(k => { k.Headers = ["Accept-Language"]; k.Cookies = ["tenant"]; });
        string Key(string lang, string cookie, string other)
        {
            var headers = new HeaderDictionary { ["Accept-Language"] = lang, ["Cookie"] = cookie, ["X-Other"] = other };
            return CacheKeyBuilder.PrimaryKey(behavior, "/p", "", headers);
        }

        var baseline = Key("en", "tenant=a; session=1", "x");
        Assert.Equal(baseline, Key("en", "session=2; tenant=a", "y"));
        Assert.NotEqual(baseline, Key("fr", "tenant=a", "x"));
        Assert.NotEqual(baseline, Key("en", "tenant=b", "x"));
    }

    [Fact]
    public void The_path_of_a_primary_key_can_be_recovered_for_purges()
    {
        var behavior = Behavior(k => k.Headers = ["X-Device"]);
        var key = CacheKey.For(behavior, "/img/a.png", "v=1", new HeaderDictionary { ["X-Device"] = "mobile" });
        Assert.Equal("/img/a.png", key.Path);
        Assert.Equal("/x", CacheKey.For(Behavior(_ => { }), "/x", "", new HeaderDictionary()).Path);
    }

    [Theory]
    [InlineData("/img/a.png", "")]
    [InlineData("/img/a.png", "v=1&w=x%20y")]
    [InlineData("/", "")]
    public void A_key_formatted_for_the_lookup_is_the_key_string(string path, string keyQuery)
    {
        var behavior = new CacheBehavior(3, new BehaviorOptions { PathPattern = "*", Origin = "o" });
        var length = CacheKeyBuilder.SimplePrimaryKeyLength(behavior, path, keyQuery);
        var chars = new char[length];
        CacheKeyBuilder.FormatSimplePrimaryKey(behavior, path, keyQuery, chars);
        Assert.Equal(CacheKeyBuilder.PrimaryKey(behavior, path, keyQuery, new HeaderDictionary()), new string(chars));
        Assert.Equal(-1, CacheKeyBuilder.SimplePrimaryKeyLength(Behavior(k => k.Headers = ["X-Device"]), path, keyQuery));
        Assert.Equal(-1, CacheKeyBuilder.SimplePrimaryKeyLength(Behavior(k => k.Cookies = ["tenant"]), path, keyQuery));
    }

    [Theory]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("br;q=0, gzip", "gzip")]
    [InlineData("gzip;q=0.5, br;q=0.4", "gzip")]
    [InlineData("x-gzip", "gzip")]
    [InlineData("*", "br")]
    [InlineData("*;q=0, identity", "identity")]
    [InlineData("deflate", "identity")]
    [InlineData("", "identity")]
    [InlineData("br;q=garbage", "identity")]
    [InlineData(" , br ; q=0.5 ,, gzip;q=0.6 ", "gzip")]
    public void Accept_encoding_is_reduced_to_the_coding_the_node_would_serve(string header, string expected)
    {
        Assert.Equal(expected, CacheKeyBuilder.NormalizeAcceptEncoding(header));
    }

    [Fact]
    public void Vary_names_are_lower_cased_sorted_and_star_wins()
    {
        Assert.Equal(["accept-encoding", "accept-language"], CacheKeyBuilder.ParseVary(new(["Accept-Language", "accept-encoding, Accept-Language"])));
        Assert.Equal(["*"], CacheKeyBuilder.ParseVary("Accept, *"));
        Assert.Empty(CacheKeyBuilder.ParseVary(default));
    }

    [Fact]
    public void Secondary_keys_differ_by_the_varied_values_and_normalize_accept_encoding()
    {
        string[] vary = ["accept-encoding", "accept-language"];
        var chrome = CacheKeyBuilder.SecondaryKey(vary, new HeaderDictionary { ["Accept-Encoding"] = "gzip, deflate, br, zstd", ["Accept-Language"] = "en" });
        var firefox = CacheKeyBuilder.SecondaryKey(vary, new HeaderDictionary { ["Accept-Encoding"] = "br, gzip", ["Accept-Language"] = " en " });
        var french = CacheKeyBuilder.SecondaryKey(vary, new HeaderDictionary { ["Accept-Encoding"] = "br", ["Accept-Language"] = "fr" });
        Assert.Equal(chrome, firefox);
        Assert.NotEqual(chrome, french);
        Assert.Equal("", CacheKeyBuilder.SecondaryKey([], new HeaderDictionary { ["Accept-Language"] = "en" }));
        Assert.Equal("accept-encoding=br\n", CacheKeyBuilder.SecondaryKey(["accept-encoding"], new HeaderDictionary { ["Accept-Encoding"] = "gzip, br" }));
        Assert.Equal("accept-encoding=gzip\n", CacheKeyBuilder.SecondaryKey(["accept-encoding"], new HeaderDictionary { ["Accept-Encoding"] = "gzip" }));
        Assert.Equal("accept-encoding=identity\n", CacheKeyBuilder.SecondaryKey(["accept-encoding"], new HeaderDictionary()));
    }

    [Fact]
    public void A_primary_key_spells_out_prefix_path_query_headers_and_cookies_with_their_separators()
    {
        var plain = new CacheBehavior(3, new BehaviorOptions { PathPattern = "*", Origin = "o" });
        Assert.Equal("3|/img/a.png?v=1", CacheKeyBuilder.PrimaryKey(plain, "/img/a.png", "v=1", new HeaderDictionary()));
        Assert.Equal("3|/", CacheKeyBuilder.PrimaryKey(plain, "/", "", new HeaderDictionary()));
        Assert.Equal("3|/".Length, CacheKeyBuilder.SimplePrimaryKeyLength(plain, "/", ""));
        Assert.Equal("3|/a?q".Length, CacheKeyBuilder.SimplePrimaryKeyLength(plain, "/a", "q"));
        var chars = new char[6];
        CacheKeyBuilder.FormatSimplePrimaryKey(plain, "/a", "q", chars);
        Assert.Equal("3|/a?q", new string(chars));
        chars = new char[5];
        CacheKeyBuilder.FormatSimplePrimaryKey(plain, "/ab", "", chars);
        Assert.Equal("3|/ab", new string(chars));

        var keyed = Behavior(k => { k.Headers = ["X-Device"]; k.Cookies = ["tenant"]; });
        Assert.Equal("0|/p?v=1|h:x-device=mobile|c:tenant=a", CacheKeyBuilder.PrimaryKey(keyed, "/p", "v=1", new HeaderDictionary { ["X-Device"] = " mobile ", ["Cookie"] = "tenant=a" }));
        Assert.Equal("0|/p|h:x-device=|c:tenant=", CacheKeyBuilder.PrimaryKey(keyed, "/p", "", new HeaderDictionary()));
        Assert.Equal("0|/p|h:x-device=a,b|c:tenant=", CacheKeyBuilder.PrimaryKey(keyed, "/p", "", new HeaderDictionary { ["X-Device"] = new StringValues(["a", "b"]) }));
        Assert.Equal("0|/p|h:x-device=|c:tenant=", CacheKeyBuilder.PrimaryKey(keyed, "/p", "", new HeaderDictionary { ["X-Device"] = new StringValues([null]) }));
    }

    [Fact]
    public void Queries_without_parameters_give_empty_keys_and_an_allow_list_forwards_only_its_names()
    {
        var all = Behavior(k => k.QueryStrings = "all");
        Assert.Equal(("", ""), CacheKeyBuilder.Queries(all, default));
        Assert.Equal(("", ""), CacheKeyBuilder.Queries(all, new QueryString("?")));
        Assert.Equal(("", ""), CacheKeyBuilder.Queries(all, new QueryString("?&")));
        Assert.Equal(("", ""), CacheKeyBuilder.Queries(Behavior(k => k.QueryStrings = "none"), new QueryString("?a=1")));

        var allowList = Behavior(k => { k.QueryStrings = "allowList"; k.QueryStringNames = ["lang"]; });
        Assert.Equal(("lang=fr", "lang=fr"), CacheKeyBuilder.Queries(allowList, new QueryString("?utm=1&lang=fr")));
        Assert.Equal(("flag", "flag"), CacheKeyBuilder.Queries(Behavior(k => { k.QueryStrings = "allowList"; k.QueryStringNames = ["flag"]; }), new QueryString("?flag")));
    }

    [Theory]
    [InlineData("br;q=0, *", "gzip")]
    [InlineData("gzip;q=0, br;q=0.4, *;q=0.5", "br")]
    [InlineData("br;q=0.5, *", "gzip")]
    [InlineData("br;foo, gzip;q=0.5", "br")]
    [InlineData("gzip;q=1, br;q=1", "br")]
    [InlineData("GZIP", "gzip")]
    [InlineData("BR;Q=0.1", "br")]
    public void Accept_encoding_wildcards_fill_only_codings_not_named_and_unknown_parameters_keep_full_weight(string header, string expected)
    {
        Assert.Equal(expected, CacheKeyBuilder.NormalizeAcceptEncoding(header));
    }

    [Fact]
    public void Null_field_lines_are_skipped()
    {
        Assert.Equal("gzip", CacheKeyBuilder.NormalizeAcceptEncoding(new StringValues([null, "gzip"])));
        Assert.Equal(["accept"], CacheKeyBuilder.ParseVary(new StringValues([null, "Accept"])));
        Assert.Equal("1", CacheKeyBuilder.ParseCookies(new StringValues([null, "a=1"]))["a"]);
    }

    [Fact]
    public void Cookies_are_split_at_semicolons_trimmed_and_the_first_of_a_name_wins()
    {
        var cookies = CacheKeyBuilder.ParseCookies("=x; a = 1 ;;b=two=2; a=3; flag");
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "two=2" }, cookies);
    }

    [Fact]
    public void A_keyed_header_after_a_query_longer_than_the_path_keeps_every_character()
    {
        var behavior = Behavior(k => k.Headers = ["X-Device"]);
        var query = "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8";
        Assert.Equal("0|/?" + query + "|h:x-device=mobile", CacheKeyBuilder.PrimaryKey(behavior, "/", query, new HeaderDictionary { ["X-Device"] = "mobile" }));
    }

    [Fact]
    public void Forwarding_every_parameter_leaves_an_allow_list_key_alone_and_names_without_an_allow_list_key_nothing()
    {
        var forwarded = new OriginRequestOptions { AllQueryStrings = true };
        var allowList = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", OriginRequest = forwarded, CacheKey = new CacheKeyOptions { QueryStrings = "allowList", QueryStringNames = ["lang"] } });
        Assert.Equal(("lang=fr", "lang=fr&utm=1"), CacheKeyBuilder.Queries(allowList, new QueryString("?utm=1&lang=fr")));

        var all = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", OriginRequest = forwarded, CacheKey = new CacheKeyOptions { QueryStrings = "all" } });
        Assert.Equal(("lang=fr&utm=1", "lang=fr&utm=1"), CacheKeyBuilder.Queries(all, new QueryString("?utm=1&lang=fr")));

        var none = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", OriginRequest = forwarded, CacheKey = new CacheKeyOptions { QueryStrings = "none", QueryStringNames = ["lang"] } });
        Assert.Equal(("", "lang=fr&utm=1"), CacheKeyBuilder.Queries(none, new QueryString("?utm=1&lang=fr")));
    }

    [Fact]
    public void A_query_neither_keyed_nor_forwarded_is_not_parsed()
    {
        var none = Behavior(k => k.QueryStrings = "none");
        Assert.Equal(0, Allocated(() => CacheKeyBuilder.Queries(none, new QueryString("?utm=1&lang=fr"))));
    }

    [Fact]
    public void A_key_of_only_prefix_path_and_query_allocates_just_its_string()
    {
        var plain = new CacheBehavior(3, new BehaviorOptions { PathPattern = "*", Origin = "o" });
        var headers = new HeaderDictionary();
        var key = "";
        var keyBytes = Allocated(() => key = CacheKeyBuilder.PrimaryKey(plain, "/img/a.png", "v=1&w=2", headers));
        Assert.Equal("3|/img/a.png?v=1&w=2", key);
        Assert.Equal(Allocated(() => _ = new string('x', key.Length)), keyBytes);
    }

    [Fact]
    public void Cookies_are_not_parsed_for_a_behavior_that_keys_on_none()
    {
        var behavior = Behavior(k => k.Headers = ["X-Device"]);
        var bare = new HeaderDictionary { ["X-Device"] = "mobile" };
        var withCookies = new HeaderDictionary { ["X-Device"] = "mobile", ["Cookie"] = "session=1; tracking=2; theme=dark" };
        Assert.Equal(CacheKeyBuilder.PrimaryKey(behavior, "/p", "", bare), CacheKeyBuilder.PrimaryKey(behavior, "/p", "", withCookies));
        Assert.Equal(
            Allocated(() => CacheKeyBuilder.PrimaryKey(behavior, "/p", "", bare)),
            Allocated(() => CacheKeyBuilder.PrimaryKey(behavior, "/p", "", withCookies)));
    }

    // Bytes this thread allocates for a second call of the action (the first one pays for JIT and first-use state).
    private static long Allocated(Action action)
    {
        action();
        var before = GC.GetAllocatedBytesForCurrentThread();
        action();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    private static CacheBehavior Behavior(Action<CacheKeyOptions> key)
    {
        var options = new BehaviorOptions { PathPattern = "*", Origin = "o" };
        key(options.CacheKey);
        return new CacheBehavior(0, options);
    }
}
