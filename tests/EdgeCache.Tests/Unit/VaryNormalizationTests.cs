using EdgeCache.Caching;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// RFC 9111 4.1: a stored response's Vary-named request fields match a new request when both values normalise to the
/// same thing "in a way that is known to have identical semantics, according to the header field's specification".
/// </summary>
public sealed class VaryNormalizationTests
{
    [Theory]
    [InlineData("en-US, fr;q=0.5", "fr;q=0.5, en-US")]
    [InlineData("en-US, fr;q=0.5", "en-us,fr;q=0.5")]
    [InlineData("en-US, fr;q=0.5", "  EN-us ,  FR ; q=0.5 ")]
    [InlineData("en;q=0.5, fr", "fr, en;q=0.5")]
    [InlineData("en, fr", "fr, en")]
    [InlineData("en, fr", "en;q=1, fr;q=1.000")]
    [InlineData("de;q=0.50", "de;q=0.5")]
    [InlineData("de;q=0.5", "de;Q=0.5")]
    [InlineData("en, fr", "en,,  ,fr")]
    [InlineData("*;q=0.1, da", "da,*;q=0.1")]
    public void Rfc9111_4_1_accept_language_differing_in_order_space_case_or_q_spelling_selects_one_variant(string first, string second)
    {
        Assert.Equal(Key(["accept-language"], "Accept-Language", first), Key(["accept-language"], "Accept-Language", second));
    }

    [Theory]
    [InlineData("en, fr;q=0.5", "fr, en;q=0.5")]
    [InlineData("en", "fr")]
    [InlineData("en, fr", "en")]
    [InlineData("en;q=0.5", "en;q=0.4")]
    [InlineData("en;q=0", "en")]
    [InlineData("en-GB", "en")]
    [InlineData("en;q=0.5", "en;q=abc")]
    [InlineData("en", "")]
    public void Rfc9111_4_1_accept_language_with_other_tags_or_weights_selects_another_variant(string first, string second)
    {
        Assert.NotEqual(Key(["accept-language"], "Accept-Language", first), Key(["accept-language"], "Accept-Language", second));
    }

    [Theory]
    [InlineData("text/html, application/json;q=0.9", "application/json;q=0.9,text/html")]
    [InlineData("text/html, application/json;q=0.9", "TEXT/HTML , Application/JSON ; Q=0.9")]
    [InlineData("text/html;level=1;charset=utf-8", "text/html; charset=utf-8 ;level=1")]
    [InlineData("text/html;level=\"1\"", "text/html;level=1")]
    [InlineData("image/avif,image/webp,*/*", "*/*, image/webp, image/avif")]
    public void Rfc9111_4_1_accept_differing_in_order_space_case_or_parameter_order_selects_one_variant(string first, string second)
    {
        Assert.Equal(Key(["accept"], "Accept", first), Key(["accept"], "Accept", second));
    }

    [Theory]
    [InlineData("text/html", "application/json")]
    [InlineData("text/html;level=1", "text/html;level=2")]
    [InlineData("text/html;q=0.9", "text/html")]
    [InlineData("text/html;p=\"a,b\"", "text/html;p=\"a, b\"")]
    [InlineData("text/html;p=\"A\"", "text/html;p=\"a\"")]
    public void Rfc9111_4_1_accept_with_other_media_ranges_parameters_or_weights_selects_another_variant(string first, string second)
    {
        Assert.NotEqual(Key(["accept"], "Accept", first), Key(["accept"], "Accept", second));
    }

    [Fact]
    public void Rfc9111_4_1_accept_charset_is_a_case_insensitive_weighted_list()
    {
        Assert.Equal(Key(["accept-charset"], "Accept-Charset", "utf-8, iso-8859-1;q=0.5"), Key(["accept-charset"], "Accept-Charset", "ISO-8859-1;q=0.5,UTF-8"));
    }

    [Fact]
    public void Rfc9111_4_1_field_lines_combine_as_one_list()
    {
        var twoLines = CacheKeyBuilder.SecondaryKey(["accept-language"], new HeaderDictionary { ["Accept-Language"] = new StringValues(["fr", "en;q=0.5"]) });
        Assert.Equal(Key(["accept-language"], "Accept-Language", "en;q=0.5, fr"), twoLines);

        var opaqueLines = CacheKeyBuilder.SecondaryKey(["x-tenant"], new HeaderDictionary { ["X-Tenant"] = new StringValues(["a", "b"]) });
        Assert.Equal(Key(["x-tenant"], "X-Tenant", "a, b"), opaqueLines);
    }

    [Theory]
    [InlineData("Blue,Green", "  Blue , Green  ")]
    [InlineData("a,b", "a,\tb")]
    public void Rfc9111_4_1_an_opaque_field_is_normalised_only_in_whitespace_around_commas(string first, string second)
    {
        Assert.Equal(Key(["x-theme"], "X-Theme", first), Key(["x-theme"], "X-Theme", second));
    }

    [Theory]
    [InlineData("Blue", "blue")]
    [InlineData("a,b", "b,a")]
    [InlineData("a b", "a  b")]
    [InlineData("\"a, b\"", "\"a,b\"")]
    public void Rfc9111_4_1_an_opaque_field_keeps_its_case_order_and_inner_space(string first, string second)
    {
        Assert.NotEqual(Key(["x-theme"], "X-Theme", first), Key(["x-theme"], "X-Theme", second));
    }

    [Fact]
    public void Rfc9111_4_1_accept_encoding_is_still_reduced_to_the_coding_served_when_varied_with_others()
    {
        string[] vary = ["accept-encoding", "accept-language"];
        var a = CacheKeyBuilder.SecondaryKey(vary, new HeaderDictionary { ["Accept-Encoding"] = "gzip, deflate, br, zstd", ["Accept-Language"] = "en, fr" });
        var b = CacheKeyBuilder.SecondaryKey(vary, new HeaderDictionary { ["Accept-Encoding"] = "br", ["Accept-Language"] = "FR,EN" });
        Assert.Equal(a, b);
        Assert.Equal("accept-encoding=br\naccept-language=en,fr\n", a);
    }

    [Fact]
    public void Rfc9111_4_1_absent_and_empty_fields_select_the_same_variant()
    {
        Assert.Equal(
            CacheKeyBuilder.SecondaryKey(["accept-language"], new HeaderDictionary()),
            Key(["accept-language"], "Accept-Language", " "));
    }

    private static string Key(string[] vary, string name, string value) =>
        CacheKeyBuilder.SecondaryKey(vary, new HeaderDictionary { [name] = value });
}
