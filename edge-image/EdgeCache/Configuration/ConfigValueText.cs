using System.Globalization;
using System.Text;

namespace EdgeCache.Configuration;

/// <summary>A configured value quoted for an error message, its control characters escaped, so that each error stays one line.</summary>
internal static class ConfigValueText
{
    public static string Quote(string? value)
    {
        var sb = new StringBuilder("'");
        foreach (var c in value ?? "")
        {
            _ = c switch
            {
                '\r' => sb.Append("\\r"),
                '\n' => sb.Append("\\n"),
                '\t' => sb.Append("\\t"),
                < ' ' or '\u007f' => sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)),
                _ => sb.Append(c),
            };
        }

        return sb.Append('\'').ToString();
    }
}
