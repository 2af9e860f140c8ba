using EdgeCache.Caching;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>The Structured Field Dictionary parser (RFC 9651 4.2.2) that targeted cache-control fields are read with.</summary>
public sealed class StructuredDictionaryTests
{
    [Fact]
    public void Rfc9651_4_2_2_a_duplicate_key_replaces_the_value_in_its_first_place()
    {
        var members = StructuredDictionary.Parse("a=1, b=2, a=3");
        Assert.NotNull(members);
        Assert.Equal(["a", "b"], members.Select(m => m.Key));
        Assert.Equal(3, members[0].Value.Integer);
        Assert.Equal(2, members[1].Value.Integer);
    }

    [Theory]
    [InlineData("a", StructuredItemType.Boolean)]
    [InlineData("a=?1", StructuredItemType.Boolean)]
    [InlineData("a=42", StructuredItemType.Integer)]
    [InlineData("a=-42", StructuredItemType.Integer)]
    [InlineData("a=1.125", StructuredItemType.Decimal)]
    [InlineData("a=123456789012.123", StructuredItemType.Decimal)]
    [InlineData("a=123456789012345", StructuredItemType.Integer)]
    [InlineData("a=\"\"", StructuredItemType.String)]
    [InlineData("a=\" ~\"", StructuredItemType.String)]
    [InlineData("a=tok", StructuredItemType.Token)]
    [InlineData("a=*", StructuredItemType.Token)]
    [InlineData("a=:a+/=:", StructuredItemType.ByteSequence)]
    [InlineData("a=::", StructuredItemType.ByteSequence)]
    [InlineData("a=@-5", StructuredItemType.Date)]
    [InlineData("a=%\"\"", StructuredItemType.DisplayString)]
    [InlineData("a=%\"x%20y\"", StructuredItemType.DisplayString)]
    [InlineData("a=%\" ~%6f\"", StructuredItemType.DisplayString)]
    [InlineData("a=( 1  2 )", StructuredItemType.InnerList)]
    [InlineData("a=();x", StructuredItemType.InnerList)]
    [InlineData("a=1; b=2;c", StructuredItemType.Integer)]
    [InlineData("x1=1, a=1", StructuredItemType.Integer)]
    public void Rfc9651_4_2_every_bare_item_type_is_read(string text, StructuredItemType type)
    {
        var members = StructuredDictionary.Parse(text);
        Assert.NotNull(members);
        Assert.Equal(type, members.Single(m => m.Key == "a").Value.Type);
    }

    [Fact]
    public void Rfc9651_4_2_integers_and_booleans_keep_their_values()
    {
        var members = StructuredDictionary.Parse("a=-42, b=?0, c=?1, d, e=007");
        Assert.NotNull(members);
        Assert.Equal(-42, members[0].Value.Integer);
        Assert.False(members[1].Value.Boolean);
        Assert.True(members[2].Value.Boolean);
        Assert.True(members[3].Value.Boolean);
        Assert.Equal(7, members[4].Value.Integer);
        Assert.Empty(StructuredDictionary.Parse("")!);
        Assert.Empty(StructuredDictionary.Parse("   ")!);
    }

    [Theory]
    [InlineData("a=1234567890123.5")]   // 13 integer digits in a decimal
    [InlineData("a=1234567890123456")]
    [InlineData("a=\"caf\u00e9\"")]
    [InlineData("a=\"\u007f\"")]
    [InlineData("a=@1.5")]
    [InlineData("a=%\"caf%C3%A9\"")]     // display strings use lower-case hex
    [InlineData("a=%\"abc")]
    [InlineData("a=%\"a\u0001\"")]
    [InlineData("a=%\"a%\"")]
    [InlineData("a=%\"a%a\"")]
    [InlineData("a=%\"a%")]
    [InlineData("a=%\"%a")]
    [InlineData("a=%x\"")]
    [InlineData("a=:ab")]
    [InlineData("a=:a.b:")]
    [InlineData("a=?")]
    [InlineData("a=(1")]
    [InlineData("a=(1 ")]
    [InlineData("a=(1;x=?)")]
    [InlineData("a=1;")]
    [InlineData("a=1;=2")]
    [InlineData("a=")]
    [InlineData("a=\"x")]
    [InlineData("a=\"x\\")]
    [InlineData("a b")]
    [InlineData("a,")]
    [InlineData("a,\t")]
    [InlineData("A=1")]
    [InlineData("-a=1")]
    public void Rfc9651_4_2_anything_else_fails_the_whole_dictionary(string text)
    {
        Assert.Null(StructuredDictionary.Parse(text));
    }

    [Fact]
    public void Rfc9213_2_1_a_null_line_among_several_is_skipped()
    {
        var cc = TargetedCacheControl.Parse(new StringValues(["max-age=60", null!]), CacheControl.Empty);
        Assert.NotNull(cc);
        Assert.Equal(TimeSpan.FromSeconds(60), cc.MaxAge);
    }

    [Theory]
    [InlineData("no-cache=\"set-cookie\"", true)]
    [InlineData("no-cache=(\"set-cookie\" \"x\")", true)]
    [InlineData("no-cache=?0", false)]
    [InlineData("no-cache=1", false)]
    public void Rfc9213_2_2_qualified_no_cache_reads_as_unqualified(string text, bool noCache)
    {
        Assert.Equal(noCache, TargetedCacheControl.Parse(new StringValues(text), CacheControl.Empty)!.NoCache);
    }

    [Theory]
    [InlineData("private=?0", false)]
    [InlineData("private=1", false)]
    [InlineData("public=?0", false)]
    [InlineData("must-revalidate=?0", false)]
    [InlineData("proxy-revalidate=?0", false)]
    [InlineData("immutable=?0", false)]
    [InlineData("proxy-revalidate", true)]
    public void Rfc9213_2_2_boolean_directives_follow_their_value(string text, bool set)
    {
        var cc = TargetedCacheControl.Parse(new StringValues(text), CacheControl.Empty)!;
        Assert.Equal(set, cc.Private || cc.Public || cc.MustRevalidate || cc.ProxyRevalidate || cc.Immutable);
    }

    [Fact]
    public void Rfc9213_2_2_a_zero_lifetime_is_a_lifetime()
    {
        var cc = TargetedCacheControl.Parse(new StringValues("max-age=0, s-maxage=0, stale-while-revalidate=0, stale-if-error=0"), CacheControl.Empty)!;
        Assert.Equal(TimeSpan.Zero, cc.MaxAge);
        Assert.Equal(TimeSpan.Zero, cc.SharedMaxAge);
        Assert.Equal(TimeSpan.Zero, cc.StaleWhileRevalidate);
        Assert.Equal(TimeSpan.Zero, cc.StaleIfError);
        var negative = TargetedCacheControl.Parse(new StringValues("s-maxage=-1, stale-while-revalidate=-1, stale-if-error=x"), CacheControl.Empty)!;
        Assert.Null(negative.SharedMaxAge);
        Assert.Null(negative.StaleWhileRevalidate);
        Assert.Null(negative.StaleIfError);
    }
}
