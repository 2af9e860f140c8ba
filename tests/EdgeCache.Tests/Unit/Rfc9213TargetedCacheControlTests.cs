using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using static EdgeCache.Tests.Unit.FreshnessTests;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// Targeted cache-control fields (RFC 9213): CDN-Cache-Control and the node's own field, parsed as Structured Field
/// Dictionaries (RFC 9651), taking precedence over Cache-Control and Expires for the node alone.
/// </summary>
public sealed class Rfc9213TargetedCacheControlTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly CacheBehavior Plain = new(0, new BehaviorOptions { PathPattern = "*", Origin = "o", MinTtlSeconds = 0, DefaultTtlSeconds = 300, MaxTtlSeconds = 100000 });
    private static readonly CacheBehavior Stripping = new(0, new BehaviorOptions { PathPattern = "*", Origin = "o", StripCdnCacheControl = true });

    [Fact]
    public void Rfc9213_2_1_cdn_cache_control_replaces_cache_control_and_expires_for_the_node()
    {
        var headers = Headers(
            ("Date", Now.ToString("R")),
            ("Cache-Control", "private, no-store, max-age=5"),
            ("Expires", Now.AddDays(1).ToString("R")),
            ("CDN-Cache-Control", "max-age=600"));
        var cc = Policy().Directives(Plain, headers);

        Assert.True(cc.IsTargeted);
        Assert.False(cc.Private);
        Assert.False(cc.NoStore);
        Assert.Equal(TimeSpan.FromSeconds(600), CachePolicy.FreshnessLifetime(Plain, 200, cc, headers, Now, 0.1));
        Assert.Null(CachePolicy.UnshareableReason(Plain, false, cc, headers));
        // Viewers still get both fields: Cache-Control is for them, CDN-Cache-Control for CDNs in front.
        Assert.Equal("private, no-store, max-age=5", CachePolicy.Find(headers, "Cache-Control").ToString());
        Assert.Equal("max-age=600", CachePolicy.Find(headers, "CDN-Cache-Control").ToString());
    }

    [Fact]
    public void Rfc9213_2_1_a_targeted_field_without_a_lifetime_ignores_expires_and_falls_to_the_heuristic()
    {
        var headers = Headers(
            ("Date", Now.ToString("R")),
            ("Expires", Now.AddDays(1).ToString("R")),
            ("Last-Modified", Now.AddSeconds(-1000).ToString("R")),
            ("CDN-Cache-Control", "public"));
        var cc = Policy().Directives(Plain, headers);
        Assert.False(CachePolicy.HasExplicitFreshness(cc, headers));
        Assert.Equal(TimeSpan.FromSeconds(100), CachePolicy.FreshnessLifetime(Plain, 200, cc, headers, Now, 0.1));
    }

    [Theory]
    [InlineData("no-store", "no-store")]
    [InlineData("private", "private")]
    [InlineData("private=(\"set-cookie\")", "private")]
    [InlineData("private=\"set-cookie\"", "private")]
    public void Rfc9213_2_1_cdn_cache_control_can_forbid_what_cache_control_allows(string cdn, string reason)
    {
        var headers = Headers(("Cache-Control", "public, max-age=600"), ("CDN-Cache-Control", cdn));
        var cc = Policy().Directives(Plain, headers);
        Assert.Equal(reason, CachePolicy.UnshareableReason(Plain, false, cc, headers));
    }

    [Fact]
    public void Rfc9213_2_1_no_cache_s_maxage_and_must_revalidate_in_cdn_cache_control_forbid_staleness()
    {
        Assert.Equal(TimeSpan.Zero, CachePolicy.FreshnessLifetime(Plain, 200, Targeted("no-cache, max-age=60"), [], Now, 0.1));
        Assert.True(CachePolicy.ForbidsStale(Targeted("no-cache")));
        Assert.True(CachePolicy.ForbidsStale(Targeted("must-revalidate")));
        Assert.True(CachePolicy.ForbidsStale(Targeted("proxy-revalidate")));
        Assert.True(CachePolicy.ForbidsStale(Targeted("s-maxage=60")));
        Assert.Equal(TimeSpan.FromSeconds(60), Targeted("s-maxage=60, max-age=5").SharedMaxAge);
        var windows = Targeted("max-age=60, stale-while-revalidate=30, stale-if-error=90, immutable, public");
        Assert.Equal(TimeSpan.FromSeconds(30), windows.StaleWhileRevalidate);
        Assert.Equal(TimeSpan.FromSeconds(90), windows.StaleIfError);
        Assert.True(windows.Immutable);
        Assert.True(windows.Public);
        Assert.False(CachePolicy.ForbidsStale(windows));
    }

    [Fact]
    public void Rfc9213_2_1_the_nodes_own_field_takes_precedence_over_cdn_cache_control_and_is_removed()
    {
        var headers = Headers(
            ("Cache-Control", "max-age=5"),
            ("CDN-Cache-Control", "max-age=60"),
            ("edgecache-cache-control", "max-age=900"));
        var cc = Policy().Directives(Plain, headers);
        Assert.Equal(TimeSpan.FromSeconds(900), cc.MaxAge);
        Assert.Equal(0, CachePolicy.Find(headers, "EdgeCache-Cache-Control").Count);
        Assert.Equal("max-age=60", CachePolicy.Find(headers, "CDN-Cache-Control").ToString());
    }

    [Fact]
    public void Rfc9213_2_1_the_nodes_own_field_is_named_in_config()
    {
        var options = new EdgeCacheOptions();
        options.Cache.TargetedCacheControl = "Acme-CDN-Cache-Control";
        var policy = new OriginResponsePolicy(Options.Create(options));
        var headers = Headers(("EdgeCache-Cache-Control", "max-age=900"), ("Acme-CDN-Cache-Control", "max-age=30"));
        Assert.Equal(TimeSpan.FromSeconds(30), policy.Directives(Plain, headers).MaxAge);
        Assert.Equal(0, CachePolicy.Find(headers, "Acme-CDN-Cache-Control").Count);
        Assert.Equal(1, CachePolicy.Find(headers, "EdgeCache-Cache-Control").Count);
    }

    [Fact]
    public void Rfc9213_2_1_a_behavior_may_strip_cdn_cache_control_from_what_viewers_get()
    {
        var headers = Headers(("Cache-Control", "max-age=5"), ("CDN-Cache-Control", "max-age=60"), ("X-Other", "kept"));
        var cc = Policy().Directives(Stripping, headers);
        Assert.Equal(TimeSpan.FromSeconds(60), cc.MaxAge);
        Assert.Equal(0, CachePolicy.Find(headers, "CDN-Cache-Control").Count);
        Assert.Equal(2, headers.Count);
        Assert.True(TargetedCacheControl.IsRemoved("cdn-cache-control", "EdgeCache-Cache-Control", stripCdnCacheControl: true));
        Assert.False(TargetedCacheControl.IsRemoved("cdn-cache-control", "EdgeCache-Cache-Control", stripCdnCacheControl: false));
        Assert.True(TargetedCacheControl.IsRemoved("EDGECACHE-CACHE-CONTROL", "EdgeCache-Cache-Control", stripCdnCacheControl: false));
        Assert.False(TargetedCacheControl.IsRemoved("Cache-Control", "EdgeCache-Cache-Control", stripCdnCacheControl: true));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("max-age=60,")]            // trailing comma
    [InlineData("Max-Age=60")]             // keys are lower case
    [InlineData("max-age=60;")]
    [InlineData("max-age=\"60")]           // unterminated string
    [InlineData("max-age=60 no-store")]
    [InlineData("max-age=1234567890123456")] // 16 digits
    [InlineData("max-age=1.2345")]
    [InlineData("max-age=1.")]
    [InlineData("max-age=-")]
    [InlineData("max-age=?2")]
    [InlineData("max-age=:abc")]
    [InlineData("max-age=(1 2")]
    [InlineData("max-age=(1,2)")]
    [InlineData("max-age=%\"a%zz\"")]
    [InlineData("max-age=%a")]
    [InlineData("max-age=@x")]
    [InlineData("max-age=\"a\\x\"")]
    [InlineData("max-age=\"a\u0001\"")]
    [InlineData("max-age=\u00e9")]
    [InlineData(", max-age=60")]
    [InlineData("1max-age=60")]
    [InlineData("max-age=60,,public")]
    [InlineData("max-age=60;1x=2")]
    [InlineData("max-age=60;a=")]
    public void Rfc9213_2_1_an_invalid_field_is_ignored_entirely(string cdn)
    {
        var headers = Headers(("Cache-Control", "max-age=5"), ("CDN-Cache-Control", cdn));
        var cc = Policy().Directives(Plain, headers);
        Assert.False(cc.IsTargeted);
        Assert.Equal(TimeSpan.FromSeconds(5), cc.MaxAge);
        Assert.Null(TargetedCacheControl.Parse(new StringValues(cdn), CacheControl.Empty));
    }

    [Theory]
    [InlineData("max-age=60", 60)]
    [InlineData("  max-age=60", 60)]
    [InlineData("max-age=60 ,\tpublic", 60)]
    [InlineData("max-age=5, max-age=60", 60)]                 // a later duplicate replaces the value (RFC 9651 4.2.2)
    [InlineData("max-age=60;foo=bar;x=?1;y=1.5;z=\"q\";w", 60)] // parameters are allowed and ignored
    [InlineData("x=(1 \"a\" b);p=1, max-age=60", 60)]
    [InlineData("x=(), max-age=60", 60)]
    [InlineData("x=:aGVsbG8=:, y=@1700000000, z=%\"caf%c3%a9\", w=-3.25, v=*tok/en:x, max-age=60", 60)]
    [InlineData("x=\"a\\\"b\\\\\", max-age=60", 60)]
    [InlineData("max-age=99999999999", 2147483648)]
    [InlineData("max-age=123456789012345", 2147483648)]
    [InlineData("*x=1, a_b.c-d*=2, max-age=60", 60)]
    public void Rfc9651_4_2_2_a_valid_dictionary_is_read_and_unknown_members_ignored(string cdn, long maxAge)
    {
        Assert.Equal(TimeSpan.FromSeconds(maxAge), Targeted(cdn).MaxAge);
    }

    [Theory]
    [InlineData("max-age=\"60\"")]
    [InlineData("max-age=60.0")]
    [InlineData("max-age=-60")]
    [InlineData("max-age")]
    [InlineData("max-age=?1")]
    [InlineData("max-age=sixty")]
    [InlineData("max-age=(60)")]
    public void Rfc9213_2_2_a_directive_with_a_value_of_the_wrong_type_is_ignored(string cdn)
    {
        var cc = Targeted(cdn + ", public");
        Assert.True(cc.IsTargeted);
        Assert.True(cc.Public);
        Assert.Null(cc.MaxAge);
    }

    [Theory]
    [InlineData("no-store=?0")]
    [InlineData("no-store=1")]
    [InlineData("no-store=\"yes\"")]
    public void Rfc9213_2_2_a_boolean_directive_is_set_only_by_true(string cdn)
    {
        Assert.False(Targeted(cdn).NoStore);
        Assert.True(Targeted("no-store=?1").NoStore);
        Assert.True(Targeted("no-store").NoStore);
    }

    [Fact]
    public void Rfc9213_2_1_several_lines_are_one_field_and_no_transform_stays_with_cache_control()
    {
        var cc = TargetedCacheControl.Parse(new StringValues(["max-age=60", "must-revalidate"]), CacheControl.Parse("no-transform"));
        Assert.NotNull(cc);
        Assert.Equal(TimeSpan.FromSeconds(60), cc.MaxAge);
        Assert.True(cc.MustRevalidate);
        Assert.True(cc.NoTransform);
        Assert.Equal("max-age=60, must-revalidate", cc.TargetedText);
        Assert.Null(TargetedCacheControl.Parse(StringValues.Empty, CacheControl.Empty));
        Assert.False(Targeted("max-age=1").NoTransform);
    }

    [Fact]
    public void Rfc9111_4_3_4_a_304_keeps_the_stored_targeted_directives_unless_it_brings_its_own()
    {
        var policy = Policy();
        var stored = Headers(("Cache-Control", "max-age=5"), ("CDN-Cache-Control", "max-age=600"));
        var storedCc = policy.Directives(Stripping, stored);
        var entry = policy.NewEntry(Stripping, 200, stored, CachedBody.FromBytes([1]), 1, storedCc, [], "", null, Now, Now);

        var plain304 = Headers(("Cache-Control", "max-age=7"));
        var refreshed = policy.Refresh(Stripping, entry, plain304, policy.Directives(Stripping, plain304), Now, Now);
        Assert.Equal(TimeSpan.FromSeconds(600), refreshed.FreshnessLifetime);

        var targeted304 = Headers(("CDN-Cache-Control", "max-age=900"));
        refreshed = policy.Refresh(Stripping, entry, targeted304, policy.Directives(Stripping, targeted304), Now, Now);
        Assert.Equal(TimeSpan.FromSeconds(900), refreshed.FreshnessLifetime);
        Assert.Equal(0, refreshed.GetHeader("CDN-Cache-Control").Count);

        var untargeted = policy.NewEntry(Plain, 200, Headers(("Cache-Control", "max-age=5")), CachedBody.FromBytes([1]), 1, CacheControl.Parse("max-age=5"), [], "", null, Now, Now);
        refreshed = policy.Refresh(Plain, untargeted, plain304, policy.Directives(Plain, plain304), Now, Now);
        Assert.Equal(TimeSpan.FromSeconds(7), refreshed.FreshnessLifetime);
    }

    private static CacheControl Targeted(string text) =>
        TargetedCacheControl.Parse(new StringValues(text), CacheControl.Empty) ?? throw new InvalidOperationException("invalid: " + text);

    private static OriginResponsePolicy Policy() => new(Options.Create(new EdgeCacheOptions()));
}
