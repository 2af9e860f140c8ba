using EdgeCache.Caching;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>Cache-Control parsing corners (RFC 9111 5.2, quoted-string of RFC 9110 5.6.4), each of which changes a decision.</summary>
public sealed class Rfc9111CacheControlTests
{
    [Fact]
    public void Rfc9110_5_6_4_directives_inside_a_quoted_value_are_not_directives()
    {
        var cc = CacheControl.Parse("x-ext=\"a, no-store, max-age=0, private\", max-age=30");
        Assert.False(cc.NoStore);
        Assert.False(cc.Private);
        Assert.Equal(TimeSpan.FromSeconds(30), cc.MaxAge);
    }

    [Fact]
    public void Rfc9110_5_6_4_an_escaped_quote_does_not_end_the_quoted_value()
    {
        var cc = CacheControl.Parse("x-ext=\"a\\\", no-store\", max-age=30");
        Assert.False(cc.NoStore);
        Assert.Equal(TimeSpan.FromSeconds(30), cc.MaxAge);

        var backslash = CacheControl.Parse("x-ext=\"a\\\\\", no-store");
        Assert.True(backslash.NoStore);
    }

    [Fact]
    public void Rfc9111_5_2_a_quoted_delta_is_read_as_its_value()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), CacheControl.Parse("max-age=\"30\"").MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(30), CacheControl.Parse("s-maxage = 30 ").SharedMaxAge);
        Assert.Equal(TimeSpan.Zero, CacheControl.Parse("max-age=\"30").MaxAge);
    }

    [Fact]
    public void Rfc9111_5_2_directives_on_several_lines_are_one_list()
    {
        var cc = CacheControl.Parse(new StringValues(["public", "max-age=30", "", null!]));
        Assert.True(cc.Public);
        Assert.Equal(TimeSpan.FromSeconds(30), cc.MaxAge);
        Assert.Same(CacheControl.Empty, CacheControl.Parse(StringValues.Empty));
        Assert.Same(CacheControl.Empty, CacheControl.Parse(new StringValues("")));
    }

    [Theory]
    [InlineData("max-stale=abc")]
    [InlineData("max-stale=-1")]
    [InlineData("max-stale=")]
    public void Rfc9111_5_2_1_2_a_malformed_max_stale_is_ignored(string header)
    {
        var cc = CacheControl.Parse(header);
        Assert.False(cc.MaxStale);
        Assert.Null(cc.MaxStaleLimit);
    }

    [Fact]
    public void Rfc9111_5_2_1_2_duplicate_max_stale_keeps_the_narrowest_unless_one_is_unlimited()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("max-stale=10, max-stale=5").MaxStaleLimit);
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("max-stale=5, max-stale=10").MaxStaleLimit);
        var unlimitedFirst = CacheControl.Parse("max-stale, max-stale=5");
        Assert.True(unlimitedFirst.MaxStale);
        Assert.Null(unlimitedFirst.MaxStaleLimit);
        var unlimitedLast = CacheControl.Parse("max-stale=5, max-stale");
        Assert.True(unlimitedLast.MaxStale);
        Assert.Null(unlimitedLast.MaxStaleLimit);
        var withBad = CacheControl.Parse("max-stale=5, max-stale=abc");
        Assert.True(withBad.MaxStale);
        Assert.Equal(TimeSpan.FromSeconds(5), withBad.MaxStaleLimit);
    }

    [Fact]
    public void Rfc9111_5_2_1_3_duplicate_min_fresh_keeps_the_largest()
    {
        Assert.Equal(TimeSpan.FromSeconds(20), CacheControl.Parse("min-fresh=10, min-fresh=20").MinFresh);
        Assert.Equal(TimeSpan.FromSeconds(20), CacheControl.Parse("min-fresh=20, min-fresh=10").MinFresh);
        Assert.Equal(TimeSpan.FromSeconds(10), CacheControl.Parse("min-fresh=10, min-fresh=x").MinFresh);
    }

    [Fact]
    public void Rfc5861_duplicate_stale_windows_keep_the_narrowest_and_malformed_ones_are_ignored()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("stale-while-revalidate=10, stale-while-revalidate=5").StaleWhileRevalidate);
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("stale-while-revalidate=5, stale-while-revalidate=10").StaleWhileRevalidate);
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("stale-if-error=10, stale-if-error=5").StaleIfError);
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("stale-if-error=5, stale-if-error=10").StaleIfError);
        Assert.Null(CacheControl.Parse("stale-while-revalidate=soon").StaleWhileRevalidate);
        Assert.Null(CacheControl.Parse("stale-if-error=-1").StaleIfError);
    }

    [Fact]
    public void Rfc9111_5_2_2_duplicate_max_age_and_s_maxage_keep_the_smallest()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("max-age=5, max-age=10").MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("s-maxage=10, s-maxage=5").SharedMaxAge);
        Assert.Equal(TimeSpan.FromSeconds(5), CacheControl.Parse("s-maxage=5, s-maxage=10").SharedMaxAge);
        Assert.Equal(TimeSpan.Zero, CacheControl.Parse("s-maxage").SharedMaxAge);
    }

    [Fact]
    public void Rfc9111_1_2_2_a_delta_of_exactly_two_to_the_31_is_kept()
    {
        Assert.Equal(TimeSpan.FromSeconds(2147483648), CacheControl.Parse("max-age=2147483648").MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(2147483647), CacheControl.Parse("max-age=2147483647").MaxAge);
        Assert.Equal(TimeSpan.FromSeconds(214748364), CacheControl.Parse("max-age=214748364").MaxAge);
    }

    [Fact]
    public void Rfc9111_5_2_directive_names_are_matched_whole()
    {
        var cc = CacheControl.Parse("no-stores, privately, publics, max-ages=5, x-max-age=5");
        Assert.False(cc.NoStore);
        Assert.False(cc.Private);
        Assert.False(cc.Public);
        Assert.Null(cc.MaxAge);
    }

    [Theory]
    [InlineData("x=\"abc\\")]
    [InlineData("max-age=5, x=\"\\")]
    [InlineData("x=\"\\")]
    public void Rfc9110_5_6_4_a_backslash_at_the_end_of_an_unterminated_quoted_value_is_harmless(string header)
    {
        var cc = CacheControl.Parse(header);
        Assert.False(cc.NoStore);
        Assert.Equal(header.StartsWith("max-age", StringComparison.Ordinal) ? TimeSpan.FromSeconds(5) : null, cc.MaxAge);
    }
}
