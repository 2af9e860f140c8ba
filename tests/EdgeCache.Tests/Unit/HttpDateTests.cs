using EdgeCache.Caching;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>The one HTTP-date parser (RFC 9110 5.6.7): the three forms a recipient accepts, and nothing else.</summary>
public sealed class HttpDateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Sunday = new(1994, 11, 6, 8, 49, 37, TimeSpan.Zero);

    [Theory]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMT")]   // IMF-fixdate
    [InlineData("Sunday, 06-Nov-94 08:49:37 GMT")]  // obsolete RFC 850
    [InlineData("Sun Nov  6 08:49:37 1994")]        // obsolete asctime, 1-digit day padded with a space
    [InlineData("Sun Nov 06 08:49:37 1994")]        // asctime with a 2-digit day
    [InlineData("Sun, 06 Nov 1994 08:49:37 gmt")]   // the zone name in any case: recipient leniency
    [InlineData(" \tSun, 06 Nov 1994 08:49:37 GMT\t ")] // the field's own optional whitespace
    public void Rfc9110_5_6_7_a_recipient_accepts_all_three_formats(string text)
    {
        Assert.True(HttpDate.TryParse(text, Now, out var date));
        Assert.Equal(Sunday, date);
        Assert.Equal(Sunday, HttpDate.Parse(new StringValues(text), Now));
    }

    [Theory]
    [InlineData("Sun,  06 Nov 1994 08:49:37 GMT")]  // extra space
    [InlineData("Sun, 06 Nov 1994  08:49:37 GMT")]
    [InlineData("Sun, 06-Nov-1994 08:49:37 GMT")]   // dashes in an IMF-fixdate
    [InlineData("Sun, 06 Nov 1994 8:49:37 GMT")]    // 1-digit hour
    [InlineData("Sun, 6 Nov 1994 08:49:37 GMT")]    // 1-digit day
    [InlineData("Sun, 06 Nov 94 08:49:37 GMT")]     // 2-digit year in an IMF-fixdate
    [InlineData("Sun, 06 Nov 1994 08:49:37.5 GMT")] // fractional seconds
    [InlineData("Sun, 06 Nov 1994 08:49:37 UTC")]
    [InlineData("Sun, 06 Nov 1994 08:49:37 +0000")]
    [InlineData("Sun, 06 Nov 1994 08:49:37")]
    [InlineData("Sun, 06 Nov 1994 08.49.37 GMT")]
    [InlineData("Sun 06 Nov 1994 08:49:37 GMT")]    // no comma
    [InlineData("sun, 06 Nov 1994 08:49:37 GMT")]   // day and month names are case-sensitive
    [InlineData("Sun, 06 nov 1994 08:49:37 GMT")]
    [InlineData("Xyz, 06 Nov 1994 08:49:37 GMT")]
    [InlineData("Sun, 06 Xyz 1994 08:49:37 GMT")]
    [InlineData("Sun, 31 Feb 1994 08:49:37 GMT")]   // no such day
    [InlineData("Sun, 00 Nov 1994 08:49:37 GMT")]
    [InlineData("Sun, 06 Nov 0000 08:49:37 GMT")]
    [InlineData("Sun, 06 Nov 1994 24:00:00 GMT")]
    [InlineData("Sun, 06 Nov 1994 08:60:00 GMT")]
    [InlineData("Sun, 06 Nov 1994 08:49:61 GMT")]
    [InlineData("Sun, 06 Nov 1994 08:49:3x GMT")]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMTX")]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GM")]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT")] // two values on one line
    [InlineData("Sunday, 06-Nov-94 08:49:37 UTC")]
    [InlineData("Sunday, 06 Nov 94 08:49:37 GMT")]
    [InlineData("Sunday, 06-Nov-1994 08:49:37 GMT")]
    [InlineData("Sunday,06-Nov-94 08:49:37 GMT")]
    [InlineData("Sunday,x06-Nov-94 08:49:37 GMT")]
    [InlineData("Sun, 06 Nov 1994 08:49:37 GMT\n")]       // optional whitespace is spaces and tabs only
    [InlineData("\u00a0Sun, 06 Nov 1994 08:49:37 GMT")]
    [InlineData("Sundae, 06-Nov-94 08:49:37 GMT")]
    [InlineData("Sunday, 06-Nov-94 8:49:37 GMT")]
    [InlineData("Sunday, 06-Nov-94 08:49:37GMT")]
    [InlineData("Sunday, 06-Nov-9x 08:49:37 GMT")]
    [InlineData("Sunday, 06/Nov-94 08:49:37 GMT")]
    [InlineData("Sunday, 06-Nov/94 08:49:37 GMT")]
    [InlineData("Sunday, 06-Xyz-94 08:49:37 GMT")]
    [InlineData("Sunday, 06-Nov-94.08:49:37 GMT")]
    [InlineData("Sunday, 6x-Nov-94 08:49:37 GMT")]
    [InlineData("Sun Nov 6 08:49:37 1994")]         // asctime day must be 2DIGIT or SP DIGIT
    [InlineData("Sun Nov  6 08:49:37 94")]
    [InlineData("Sun Nov  6 08:49:37 1994 GMT")]
    [InlineData("Sun Nov  x 08:49:37 1994")]
    [InlineData("Sun Nov x6 08:49:37 1994")]
    [InlineData("Sun-Nov  6 08:49:37 1994")]
    [InlineData("Sun Nov- 6 08:49:37 1994")]
    [InlineData("Sun Nov  6-08:49:37 1994")]
    [InlineData("Sun Nov  6 08:49:37-1994")]
    [InlineData("Sun Xyz  6 08:49:37 1994")]
    [InlineData("Xyz Nov  6 08:49:37 1994")]
    [InlineData("Sun Nov  6 08:49:37 199x")]
    [InlineData("Sun Nov  6 08:49:37 19x4")]
    [InlineData("Sun Nov  6 08:4x:37 1994")]
    [InlineData("Sun Nov  6 0x:49:37 1994")]
    [InlineData("Sun Nov  6 08-49:37 1994")]
    [InlineData("Sun Nov  6 08:49-37 1994")]
    [InlineData("Sun, 06 Nov 1994 08:49:37 G T")]
    [InlineData("Sun,x06 Nov 1994 08:49:37 GMT")]
    [InlineData("Sun, 06xNov 1994 08:49:37 GMT")]
    [InlineData("Sun, 06 Novx1994 08:49:37 GMT")]
    [InlineData("Sun, 06 Nov 1994x08:49:37 GMT")]
    [InlineData("Sun, 06 Nov 1994 08:49:37xGMT")]
    [InlineData("Sun, x6 Nov 1994 08:49:37 GMT")]
    [InlineData("Sun, 06 Nov 199x 08:49:37 GMT")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData(",")]
    [InlineData("Sun,")]
    public void Rfc9110_5_6_7_anything_outside_the_grammar_is_invalid(string text)
    {
        Assert.False(HttpDate.TryParse(text, Now, out _));
        Assert.Null(HttpDate.Parse(new StringValues(text), Now));
    }

    [Fact]
    public void Rfc9110_5_6_7_every_day_and_month_name_is_known()
    {
        var date = new DateTimeOffset(2026, 1, 4, 0, 0, 0, TimeSpan.Zero); // a Sunday
        for (var i = 0; i < 400; i += 29)
        {
            var expected = date.AddDays(i).AddSeconds(i * 97);
            Assert.True(HttpDate.TryParse(expected.ToString("R"), Now, out var parsed), expected.ToString("R"));
            Assert.Equal(expected, parsed);
            var rfc850 = expected.ToString("dddd, dd-MMM-yy HH:mm:ss 'GMT'", System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(HttpDate.TryParse(rfc850, Now, out parsed), rfc850);
            Assert.Equal(expected, parsed);
            var asctime = expected.ToString("ddd MMM ", System.Globalization.CultureInfo.InvariantCulture)
                + expected.Day.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(2)
                + expected.ToString(" HH:mm:ss yyyy", System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(HttpDate.TryParse(asctime, Now, out parsed), asctime);
            Assert.Equal(expected, parsed);
        }
    }

    [Theory]
    [InlineData("Friday, 06-Nov-76 08:49:37 GMT", 2076)] // 50 years ahead of 2026 is not "more than 50"
    [InlineData("Saturday, 06-Nov-77 08:49:37 GMT", 1977)] // 51 years ahead: the most recent past year ending in 77
    [InlineData("Wednesday, 06-Nov-26 08:49:37 GMT", 2026)]
    [InlineData("Thursday, 06-Nov-25 08:49:37 GMT", 2025)]
    [InlineData("Monday, 06-Nov-00 08:49:37 GMT", 2000)]
    [InlineData("Saturday, 06-Nov-99 08:49:37 GMT", 1999)]
    public void Rfc9110_5_6_7_an_rfc850_two_digit_year_more_than_50_years_ahead_is_in_the_past(string text, int year)
    {
        Assert.True(HttpDate.TryParse(text, Now, out var date));
        Assert.Equal(year, date.Year);
    }

    [Theory]
    [InlineData("Mon, 01 Jan 0001 00:00:00 GMT")]
    [InlineData("Mon Jan  1 00:00:00 0001")]
    public void Rfc9110_5_6_7_the_first_year_four_digits_can_spell_is_a_date(string text)
    {
        Assert.True(HttpDate.TryParse(text, Now, out var date));
        Assert.Equal(DateTimeOffset.MinValue, date);
    }

    [Fact]
    public void Rfc9110_5_6_7_a_leap_second_is_the_last_second_of_its_minute()
    {
        Assert.True(HttpDate.TryParse("Sat, 31 Dec 2016 23:59:60 GMT", Now, out var date));
        Assert.Equal(new DateTimeOffset(2016, 12, 31, 23, 59, 59, TimeSpan.Zero), date);
    }

    [Fact]
    public void Rfc9110_5_6_7_a_field_that_must_appear_once_is_invalid_on_two_lines()
    {
        Assert.Null(HttpDate.Parse(new StringValues(["Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"]), Now));
        Assert.Null(HttpDate.Parse(StringValues.Empty, Now));
        Assert.Null(HttpDate.Parse(new StringValues((string?)null), Now));
    }
}
