using Microsoft.Extensions.Primitives;

namespace EdgeCache.Caching;

/// <summary>
/// The one HTTP-date parser (RFC 9110 5.6.7) for Date, Expires, Last-Modified, If-Modified-Since and If-Range: the
/// preferred IMF-fixdate and the obsolete RFC 850 and asctime forms a recipient must still accept. Strict about the
/// grammar (single spaces, two-digit hours, the exact separators), so a malformed date is invalid rather than guessed;
/// only the zone name GMT is accepted in any case, as recipient leniency allows. Hand-written because
/// <c>HeaderUtilities.TryParseDate</c> guesses at malformed dates (an Expires RFC 9111 5.3 says is already expired).
/// </summary>
public static class HttpDate
{
    private static readonly string[] ShortDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    private static readonly string[] LongDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// <summary>
    /// The date of a field that must appear once: absent, repeated (two lines) or malformed is null. An RFC 850 two-digit
    /// year is placed relative to <paramref name="now"/>.
    /// </summary>
    public static DateTimeOffset? Parse(StringValues values, DateTimeOffset now) =>
        values.Count == 1 && values[0] is { } text && TryParse(text, now, out var date) ? date : null;

    /// <summary>One HTTP-date, with no surrounding whitespace beyond the field's own optional whitespace.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, DateTimeOffset now, out DateTimeOffset date)
    {
        date = default;
        text = text.Trim(" \t");
        var comma = text.IndexOf(',');
        if (comma > 3)
        {
            return TryRfc850(text, comma, now, out date);
        }

        if (comma == 3)
        {
            return TryImfFixdate(text, out date);
        }

        // A comma before the fourth character is in no day name, which the asctime form starts with.
        return TryAsctime(text, out date);
    }

    // IMF-fixdate = day-name "," SP 2DIGIT SP month SP 4DIGIT SP time-of-day SP GMT, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
    private static bool TryImfFixdate(ReadOnlySpan<char> s, out DateTimeOffset date)
    {
        date = default;
        return s.Length == 29
            && Index(ShortDays, s[..3]) >= 0
            && s[3] == ',' && s[4] == ' '
            && Digits(s[5..7], out var day)
            && s[7] == ' '
            && Index(Months, s[8..11]) is var month and >= 0
            && s[11] == ' '
            && Digits(s[12..16], out var year)
            && s[16] == ' '
            && TimeOfDay(s[17..25], out var time)
            && s[25] == ' '
            && IsGmt(s[26..])
            && TryBuild(year, month + 1, day, time, out date);
    }

    // rfc850-date = day-name-l "," SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day SP GMT, e.g. "Sunday, 06-Nov-94 08:49:37 GMT".
    private static bool TryRfc850(ReadOnlySpan<char> s, int comma, DateTimeOffset now, out DateTimeOffset date)
    {
        date = default;
        if (Index(LongDays, s[..comma]) < 0)
        {
            return false;
        }

        s = s[(comma + 1)..];
        if (!(s.Length == 23
            && s[0] == ' '
            && Digits(s[1..3], out var day)
            && s[3] == '-'
            && Index(Months, s[4..7]) is var month and >= 0
            && s[7] == '-'
            && Digits(s[8..10], out var twoDigitYear)
            && s[10] == ' '
            && TimeOfDay(s[11..19], out var time)
            && s[19] == ' '
            && IsGmt(s[20..])))
        {
            return false;
        }

        // RFC 9110 5.6.7: a two-digit year that looks more than 50 years in the future is the most recent past year
        // with the same last two digits.
        var year = (now.UtcDateTime.Year / 100 * 100) + twoDigitYear;
        if (year > now.UtcDateTime.Year + 50)
        {
            year -= 100;
        }

        return TryBuild(year, month + 1, day, time, out date);
    }

    // asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP 4DIGIT, e.g. "Sun Nov  6 08:49:37 1994".
    private static bool TryAsctime(ReadOnlySpan<char> s, out DateTimeOffset date)
    {
        date = default;
        return s.Length == 24
            && Index(ShortDays, s[..3]) >= 0
            && s[3] == ' '
            && Index(Months, s[4..7]) is var month and >= 0
            && s[7] == ' '
            && (Digits(s[8..10], out var day) || (s[8] == ' ' && Digits(s[9..10], out day)))
            && s[10] == ' '
            && TimeOfDay(s[11..19], out var time)
            && s[19] == ' '
            && Digits(s[20..], out var year)
            && TryBuild(year, month + 1, day, time, out date);
    }

    private static bool TimeOfDay(ReadOnlySpan<char> s, out TimeSpan time)
    {
        time = default;
        if (!(s[2] == ':' && s[5] == ':'
            && Digits(s[..2], out var hour)
            && Digits(s[3..5], out var minute)
            && Digits(s[6..], out var second)
            && hour <= 23 && minute <= 59 && second <= 60))
        {
            return false;
        }

        // A leap second (60) is the last second of its minute: DateTimeOffset has no 60th second.
        time = new TimeSpan(hour, minute, Math.Min(second, 59));
        return true;
    }

    private static bool TryBuild(int year, int month, int day, TimeSpan time, out DateTimeOffset date)
    {
        date = default;
        if (year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        date = new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero) + time;
        return true;
    }

    private static bool IsGmt(ReadOnlySpan<char> s) => s.Equals("GMT", StringComparison.OrdinalIgnoreCase);

    private static int Index(string[] names, ReadOnlySpan<char> s)
    {
        for (var i = 0; i < names.Length; i++)
        {
            if (s.SequenceEqual(names[i]))
            {
                return i;
            }
        }

        return -1;
    }

    // Every caller passes a slice of the grammar's length, checked before.
    private static bool Digits(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        foreach (var c in s)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
