using EdgeCache.Caching;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>Cache-Control parsing (RFC 9111 5.2), including the malformed and duplicate values a cache must be safe with.</summary>
public sealed class CacheControlTests
{
    [Fact]
    public void Parses_every_boolean_directive_case_insensitively()
    {
        var cc = CacheControl.Parse("No-Store, NO-CACHE, private, Public, must-revalidate, proxy-revalidate, immutable, no-transform, only-if-cached");
        Assert.True(cc.NoStore && cc.NoCache && cc.Private && cc.Public && cc.MustRevalidate && cc.ProxyRevalidate);
        Assert.True(cc.Immutable && cc.NoTransform && cc.OnlyIfCached);
    }

    [Fact]
    public void Parses_delta_seconds_directives()
    {
        var cc = CacheControl.Parse("max-age=60, s-maxage=\"120\", min-fresh=5, max-stale=30, stale-while-revalidate=15, stale-if-error=600");
        Assert.Equal(TimeSpan.FromSeconds(60), cc.MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(120), cc.SharedMaxAge);
        Assert.Equal(TimeSpan.FromSeconds(5), cc.MinFresh);
        Assert.True(cc.MaxStale);
        Assert.Equal(TimeSpan.FromSeconds(30), cc.MaxStaleLimit);
        Assert.Equal(TimeSpan.FromSeconds(15), cc.StaleWhileRevalidate);
        Assert.Equal(TimeSpan.FromSeconds(600), cc.StaleIfError);
    }

    [Fact]
    public void Max_stale_without_a_value_accepts_any_staleness()
    {
        var cc = CacheControl.Parse("max-stale");
        Assert.True(cc.MaxStale);
        Assert.Null(cc.MaxStaleLimit);
    }

    [Theory]
    [InlineData("max-age=abc")]
    [InlineData("max-age=")]
    [InlineData("max-age")]
    [InlineData("max-age=-5")]
    [InlineData("max-age=1.5")]
    public void An_unparsable_max_age_counts_as_zero_so_the_response_is_stale(string header)
    {
        Assert.Equal(TimeSpan.Zero, CacheControl.Parse(header).MaxAge);
    }

    [Fact]
    public void Duplicates_keep_the_most_restrictive_value()
    {
        var cc = CacheControl.Parse(new StringValues(["max-age=600", "max-age=60, s-maxage=10, s-maxage=20"]));
        Assert.Equal(TimeSpan.FromSeconds(60), cc.MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(10), cc.SharedMaxAge);
    }

    [Fact]
    public void Values_past_two_to_the_31_are_capped()
    {
        Assert.Equal(TimeSpan.FromSeconds(2147483648), CacheControl.Parse("max-age=99999999999999999999999").MaxAge);
    }

    [Fact]
    public void Commas_inside_quoted_values_do_not_split_directives()
    {
        var cc = CacheControl.Parse("no-cache=\"Set-Cookie, X-Foo\", max-age=30");
        Assert.True(cc.NoCache);
        Assert.Equal(TimeSpan.FromSeconds(30), cc.MaxAge);
    }

    [Theory]
    [InlineData(",,;;=,")]
    [InlineData("   ")]
    [InlineData("\"unterminated, max-age=5")]
    [InlineData("foo=bar, x-extension")]
    public void Garbage_and_unknown_extensions_are_ignored_without_throwing(string header)
    {
        var cc = CacheControl.Parse(header);
        Assert.False(cc.NoStore);
        Assert.Null(cc.SharedMaxAge);
    }

    [Fact]
    public void Qualified_private_and_no_cache_are_treated_as_unqualified()
    {
        var cc = CacheControl.Parse("private=\"Set-Cookie\", no-cache=\"Authorization\"");
        Assert.True(cc.Private);
        Assert.True(cc.NoCache);
    }

    [Fact]
    public void An_unparsable_min_fresh_is_ignored_rather_than_guessed()
    {
        Assert.Null(CacheControl.Parse("min-fresh=soon").MinFresh);
    }
}
