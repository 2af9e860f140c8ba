using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;

namespace EdgeCache.InvalidationLog;

/// <summary>
/// An invalidation's id, also its object name in the log: the UTC time it was made to the millisecond, then a random
/// suffix, e.g. <c>20261125T140312.123Z-5f1c2a9b7e3d</c>. Ids sort (ordinally) in the order they were made, so a
/// node lists what is new with S3's StartAfter; the suffix keeps two writers in the same millisecond apart.
/// </summary>
public static class InvalidationId
{
    private const string TimeFormat = "yyyyMMdd'T'HHmmss'.'fff'Z'";

    /// <summary>Characters of the time part (<c>20261125T140312.123Z</c>).</summary>
    public const int TimeLength = 20;

    private const int SuffixBytes = 6;

    /// <summary>Length of a whole id: the time part, '-', and 12 lower-case hex digits.</summary>
    public const int Length = TimeLength + 1 + (SuffixBytes * 2);

    /// <summary>
    /// A new id for a record made at <paramref name="now"/> (the writer's clock). When <paramref name="after"/> (the
    /// log's latest id, from its head) is not earlier, the id takes its time plus a millisecond instead: a writer whose
    /// clock is behind still writes a record that sorts after everything nodes may already have applied.
    /// </summary>
    public static string Create(DateTimeOffset now, string? after = null)
    {
        var time = Truncate(now.ToUniversalTime());
        if (after is not null && TryGetTime(after, out var latest) && latest >= time)
        {
            time = latest.AddMilliseconds(1);
        }

        Span<byte> random = stackalloc byte[SuffixBytes];
        RandomNumberGenerator.Fill(random);
        return Format(time) + "-" + Convert.ToHexStringLower(random);
    }

    /// <summary>The time part alone: it sorts before every id made at or after <paramref name="time"/>.</summary>
    public static string Floor(DateTimeOffset time) => Format(Truncate(time.ToUniversalTime()));

    public static bool IsValid([NotNullWhen(true)] string? id) => TryGetTime(id, out _);

    /// <summary>The time an id was made at (by its writer's clock, or just after the log's previous latest id).</summary>
    public static bool TryGetTime([NotNullWhen(true)] string? id, out DateTimeOffset time)
    {
        time = default;
        if (id is null || id.Length != Length || id[TimeLength] != '-')
        {
            return false;
        }

        foreach (var c in id.AsSpan(TimeLength + 1))
        {
            if (!(char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
            {
                return false;
            }
        }

        return DateTimeOffset.TryParseExact(id.AsSpan(0, TimeLength), TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }

    /// <summary>Ordinal order, which is the order ids were made in.</summary>
    public static int Compare(string? a, string? b) => string.CompareOrdinal(a, b);

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset Truncate(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
}
