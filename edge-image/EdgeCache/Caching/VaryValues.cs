using System.Globalization;
using System.Text;
using EdgeCache.Syntax;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Caching;

/// <summary>
/// The form a Vary-named request field's value takes in a secondary key (RFC 9111 4.1): two requests select the same
/// variant when their values differ only in ways the field's own specification says carry no meaning. Weighted lists
/// whose members are case-insensitive (Accept, Accept-Charset, Accept-Language; RFC 9110 12.5) lose case, spacing and
/// order: members are ranked by q-value and, at equal weight, by name, since HTTP gives order no meaning there. Any
/// other field may be case-sensitive or order-sensitive (custom fields are), so only the spaces around its commas go.
/// </summary>
internal static class VaryValues
{
    private const int FullWeight = 1000;

    public static string Normalize(string name, StringValues values)
    {
        var joined = values.Count switch
        {
            0 => "",
            1 => values[0] ?? "",
            _ => string.Join(",", values.ToArray()),
        };

        return name is "accept" or "accept-charset" or "accept-language" ? WeightedList(joined) : Opaque(joined);
    }

    /// <summary>Members trimmed of the spaces around them, in their order and case; commas inside quoted strings kept.</summary>
    private static string Opaque(string value)
    {
        // The common case on the hit path: one member, nothing to split, and Trim returns the same string when there
        // is nothing to trim.
        if (!value.Contains(','))
        {
            return value.Trim(' ', '\t');
        }

        var members = Split(value, ',');
        return members.Count == 1 ? members[0] : string.Join(",", members);
    }

    private static string WeightedList(string value)
    {
        // A set: a member listed twice says no more than once (and a long header costs no quadratic scan).
        var unique = new HashSet<(int Weight, string Member)>();
        foreach (var member in Split(value, ','))
        {
            if (member.Length > 0)
            {
                unique.Add(Member(member));
            }
        }

        var members = unique.ToList();

        members.Sort(static (a, b) => a.Weight != b.Weight ? b.Weight.CompareTo(a.Weight) : string.CompareOrdinal(a.Member, b.Member));
        var sb = new StringBuilder();
        foreach (var (weight, member) in members)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            sb.Append(member);
            if (weight != FullWeight)
            {
                sb.Append(";q=").Append(weight == 0 ? "0" : "0." + weight.ToString("D3", CultureInfo.InvariantCulture).TrimEnd('0'));
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// One member: its value lower-cased, its parameters by name with names lower-cased (RFC 9110 5.6.6) and quoted
    /// tokens unquoted, and its weight in thousandths. A q that is not a qvalue stays as written, so it matches only itself.
    /// </summary>
    private static (int Weight, string Member) Member(string member)
    {
        var parts = Split(member, ';');
        var weight = FullWeight;
        var weighted = false;
        var parameters = new List<string>();
        for (var i = 1; i < parts.Count; i++)
        {
            var eq = parts[i].IndexOf('=', StringComparison.Ordinal);
            var name = (eq < 0 ? parts[i] : parts[i][..eq]).TrimEnd(' ', '\t').ToLowerInvariant();
            var value = eq < 0 ? "" : parts[i][(eq + 1)..].TrimStart(' ', '\t');
            if (name.Length == 0)
            {
                continue;
            }

            // Only the first q is the weight; a repeated one stays a parameter, so it cannot pass for a plain member.
            if (name == "q" && !weighted && QValue(value) is { } q)
            {
                weight = q;
                weighted = true;
                continue;
            }

            if (value.Length > 2 && value[0] == '"' && value[^1] == '"' && HttpToken.IsToken(value.AsSpan(1, value.Length - 2)))
            {
                value = value[1..^1];
            }

            parameters.Add(eq < 0 ? name : name + "=" + value);
        }

        parameters.Sort(StringComparer.Ordinal);
        var head = parts[0].ToLowerInvariant();
        return (weight, parameters.Count == 0 ? head : head + ";" + string.Join(";", parameters));
    }

    /// <summary>RFC 9110 12.4.2 qvalue in thousandths, or null when <paramref name="text"/> is not one.</summary>
    internal static int? QValue(string text)
    {
        if (text.Length == 0 || text[0] is not ('0' or '1') || text.Length > 5 || (text.Length > 1 && text[1] != '.'))
        {
            return null;
        }

        var fraction = 0;
        for (var i = 2; i < 5; i++)
        {
            var digit = i < text.Length ? text[i] : '0';
            if (!char.IsAsciiDigit(digit))
            {
                return null;
            }

            fraction = (fraction * 10) + (digit - '0');
        }

        return text[0] == '1' ? (fraction == 0 ? FullWeight : null) : fraction;
    }

    /// <summary>Splits at <paramref name="separator"/> outside quoted strings, each piece trimmed of spaces and tabs.</summary>
    private static List<string> Split(string value, char separator)
    {
        var pieces = new List<string>();
        var start = 0;
        var quoted = false;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (quoted && c == '\\')
            {
                i++;
            }
            else if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == separator && !quoted)
            {
                pieces.Add(value[start..i].Trim(' ', '\t'));
                start = i + 1;
            }
        }

        pieces.Add(value[start..].Trim(' ', '\t'));
        return pieces;
    }
}
