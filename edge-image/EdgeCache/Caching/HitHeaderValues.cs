using System.Globalization;

namespace EdgeCache.Caching;

/// <summary>
/// The Age and Cache-Status values of a fresh hit on one entry, for one (age, ttl) second. Immutable: hits in the same
/// second share the strings instead of formatting two per request; the next second makes a new one.
/// </summary>
internal sealed class HitHeaderValues
{
    private HitHeaderValues(long age, long ttl, string statusPrefix)
    {
        Age = age;
        Ttl = ttl;
        StatusPrefix = statusPrefix;
        AgeText = age.ToString(CultureInfo.InvariantCulture);
        CacheStatus = string.Concat(statusPrefix, ttl.ToString(CultureInfo.InvariantCulture));
    }

    public long Age { get; }

    public long Ttl { get; }

    /// <summary>"{node}; hit; ttl=".</summary>
    public string StatusPrefix { get; }

    public string AgeText { get; }

    public string CacheStatus { get; }

    /// <summary>The entry's values for this age and ttl, formatted at most once per second (a race formats twice, harmlessly).</summary>
    public static HitHeaderValues For(CacheEntry entry, long age, long ttl, string statusPrefix)
    {
        var cached = entry.LastHitHeaders;
        if (cached is not null && cached.Age == age && cached.Ttl == ttl && ReferenceEquals(cached.StatusPrefix, statusPrefix))
        {
            return cached;
        }

        var values = new HitHeaderValues(age, ttl, statusPrefix);
        entry.LastHitHeaders = values;
        return values;
    }
}
