using EdgeCache.Origins;

namespace EdgeCache.Tests.Unit;

public sealed class OriginHeaderValueTests
{
    [Fact]
    public void Printable_ascii_and_tab_are_kept_as_the_same_string()
    {
        const string value = "attachment;\tfilename=\"a b.txt\"";
        Assert.Same(value, OriginHeaderValue.Servable(value));
    }

    [Fact]
    public void Obs_text_is_kept_byte_for_byte() =>
        Assert.Equal("caf\u00c3\u00a9", OriginHeaderValue.Servable("caf\u00c3\u00a9"));

    [Theory]
    [InlineData("a\u0001")]
    [InlineData("\u001fa")]
    [InlineData("a\u007f")]
    [InlineData("caf\u00c3\u00a9\u0002")]
    public void A_control_character_drops_the_field_line(string value) => Assert.Null(OriginHeaderValue.Servable(value));

    [Fact]
    public void A_char_beyond_latin1_becomes_its_utf8_bytes() =>
        Assert.Equal("\u00e2\u0082\u00ac5", OriginHeaderValue.Servable("\u20ac5"));
}
