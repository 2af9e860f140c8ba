using System.Globalization;
using System.Text;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A strict parser for an RFC 8941 List (3.1) of items with parameters, as Cache-Status (RFC 9211 2) is: it throws
/// <see cref="FormatException"/> for anything the RFC's parsing algorithm (4.2) fails on, so a test proves a value parses.
/// Bare items are returned as their text: a token or a number as written, a string unescaped, a boolean as "?1"/"?0".
/// </summary>
public static class StructuredFieldList
{
    public static List<(string Item, Dictionary<string, string?> Parameters)> Parse(string value)
    {
        var items = new List<(string, Dictionary<string, string?>)>();
        var i = SkipSpaces(value, 0);
        while (i < value.Length)
        {
            var item = BareItem(value, ref i);
            var parameters = Parameters(value, ref i);
            items.Add((item, parameters));
            i = SkipOws(value, i);
            if (i >= value.Length)
            {
                return items;
            }

            Expect(value, ref i, ',');
            i = SkipOws(value, i);
            if (i >= value.Length)
            {
                throw new FormatException($"trailing comma in '{value}'");
            }
        }

        return items;
    }

    private static Dictionary<string, string?> Parameters(string s, ref int i)
    {
        var parameters = new Dictionary<string, string?>(StringComparer.Ordinal);
        while (i < s.Length && s[i] == ';')
        {
            i = SkipSpaces(s, i + 1);
            var key = Key(s, ref i);
            string? value = null;
            if (i < s.Length && s[i] == '=')
            {
                i++;
                value = BareItem(s, ref i);
            }

            // RFC 8941 4.2.3.2: a repeated key overwrites.
            parameters[key] = value;
        }

        return parameters;
    }

    private static string Key(string s, ref int i)
    {
        if (i >= s.Length || !(char.IsAsciiLetterLower(s[i]) || s[i] == '*'))
        {
            throw new FormatException($"a parameter key must start with a lower-case letter or '*' at {i} in '{s}'");
        }

        var start = i;
        while (i < s.Length && (char.IsAsciiLetterLower(s[i]) || char.IsAsciiDigit(s[i]) || s[i] is '_' or '-' or '.' or '*'))
        {
            i++;
        }

        return s[start..i];
    }

    private static string BareItem(string s, ref int i)
    {
        if (i >= s.Length)
        {
            throw new FormatException($"an item is missing at the end of '{s}'");
        }

        var c = s[i];
        if (c == '-' || char.IsAsciiDigit(c))
        {
            var start = i;
            i++;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            var number = s[start..i];
            if (!decimal.TryParse(number, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _) || number.EndsWith('.'))
            {
                throw new FormatException($"'{number}' is not an integer or decimal in '{s}'");
            }

            return number;
        }

        if (c == '"')
        {
            var sb = new StringBuilder();
            i++;
            while (true)
            {
                if (i >= s.Length)
                {
                    throw new FormatException($"an unterminated string in '{s}'");
                }

                var ch = s[i++];
                if (ch == '\\')
                {
                    if (i >= s.Length || s[i] is not ('"' or '\\'))
                    {
                        throw new FormatException($"a bad escape in '{s}'");
                    }

                    sb.Append(s[i++]);
                }
                else if (ch == '"')
                {
                    return sb.ToString();
                }
                else if (ch is < ' ' or > '~')
                {
                    throw new FormatException($"a character outside %x20-7E in a string in '{s}'");
                }
                else
                {
                    sb.Append(ch);
                }
            }
        }

        if (c == '?')
        {
            if (i + 1 < s.Length && s[i + 1] is '0' or '1')
            {
                i += 2;
                return s[(i - 2)..i];
            }

            throw new FormatException($"a bad boolean in '{s}'");
        }

        if (char.IsAsciiLetter(c) || c == '*')
        {
            var start = i;
            i++;
            while (i < s.Length && (EdgeCache.Syntax.HttpToken.IsTokenChar(s[i]) || s[i] is ':' or '/'))
            {
                i++;
            }

            return s[start..i];
        }

        throw new FormatException($"'{c}' cannot start an item at {i} in '{s}'");
    }

    private static void Expect(string s, ref int i, char c)
    {
        if (i >= s.Length || s[i] != c)
        {
            throw new FormatException($"expected '{c}' at {i} in '{s}'");
        }

        i++;
    }

    private static int SkipSpaces(string s, int i)
    {
        while (i < s.Length && s[i] == ' ')
        {
            i++;
        }

        return i;
    }

    private static int SkipOws(string s, int i)
    {
        while (i < s.Length && s[i] is ' ' or '\t')
        {
            i++;
        }

        return i;
    }
}
