using System.Globalization;

namespace EdgeCdn;

/// <summary>Durations as operators type them: <c>90s</c>, <c>5m</c>, <c>1h</c>, <c>500ms</c>, or plain seconds.</summary>
public static class Durations
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : (text, 1.0);
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0 || value * unit > TimeSpan.FromDays(1).TotalSeconds)
        {
            return false;
        }

        duration = TimeSpan.FromSeconds(value * unit);
        return true;
    }

    public static string Format(TimeSpan duration) =>
        duration.TotalSeconds < 60 ? duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s"
        : duration.TotalMinutes < 60 ? ((int)duration.TotalMinutes).ToString(CultureInfo.InvariantCulture) + " min " + duration.Seconds.ToString(CultureInfo.InvariantCulture) + " s"
        : ((int)duration.TotalHours).ToString(CultureInfo.InvariantCulture) + " h " + duration.Minutes.ToString(CultureInfo.InvariantCulture) + " min";
}
