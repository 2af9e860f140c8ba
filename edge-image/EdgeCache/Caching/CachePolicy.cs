using System.Collections.Frozen;
using EdgeCache.Behaviors;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Caching;

/// <summary>
/// What RFC 9111 lets a shared cache store and share, and for how long: storability (section 3), freshness lifetime
/// (4.2.1, with the Last-Modified heuristic of 4.2.2) clamped by the behavior's TTLs, and age (4.2.3).
/// </summary>
public static class CachePolicy
{
    /// <summary>Status codes a cache may store with heuristic or default freshness (RFC 9110 15.1).</summary>
    public static readonly FrozenSet<int> HeuristicallyCacheable = new[] { 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501 }.ToFrozenSet();

    /// <summary>
    /// s-maxage, max-age or Expires (RFC 9111 4.2.1). Directives from a targeted field (RFC 9213) replace Expires along
    /// with Cache-Control.
    /// </summary>
    public static bool HasExplicitFreshness(CacheControl cc, IReadOnlyList<KeyValuePair<string, StringValues>> headers) =>
        cc.SharedMaxAge is not null || cc.MaxAge is not null || (!cc.IsTargeted && Find(headers, HeaderNames.Expires).Count > 0);

    /// <summary>
    /// May a response with this status be given heuristic freshness (RFC 9111 4.2.2): a status defined as heuristically
    /// cacheable (RFC 9110 15.1), or any status marked public.
    /// </summary>
    public static bool AllowsHeuristic(int status, CacheControl cc) => cc.Public || HeuristicallyCacheable.Contains(status);

    /// <summary>
    /// Why a response may not be shared with other viewers, or null when it may. Unshareable responses go only to the
    /// viewer whose request caused them; collapsed waiters fetch for themselves.
    /// </summary>
    public static string? UnshareableReason(CacheBehavior behavior, bool requestHadAuthorization, CacheControl cc, IReadOnlyList<KeyValuePair<string, StringValues>> headers)
    {
        if (cc.NoStore)
        {
            return "no-store";
        }

        if (cc.Private)
        {
            return "private";
        }

        if (CacheKeyBuilder.ParseVary(Find(headers, HeaderNames.Vary)) is ["*"])
        {
            return "vary-star";
        }

        if (!behavior.CacheSetCookieResponses && Find(headers, HeaderNames.SetCookie).Count > 0)
        {
            return "set-cookie";
        }

        // RFC 9111 3.5: a response to a request with Authorization is shared only when the response explicitly allows it.
        if (requestHadAuthorization && !(cc.Public || cc.SharedMaxAge is not null || cc.MustRevalidate))
        {
            return "authorization";
        }

        return null;
    }

    /// <summary>Why a shareable response must still not be stored, or null when it may be.</summary>
    public static string? UnstorableReason(int status, CacheControl requestCc, CacheControl cc, IReadOnlyList<KeyValuePair<string, StringValues>> headers)
    {
        if (requestCc.NoStore)
        {
            return "request-no-store";
        }

        if (status is 206 or 304 || status < 200)
        {
            return "status";
        }

        if (!AllowsHeuristic(status, cc) && !HasExplicitFreshness(cc, headers))
        {
            return "status";
        }

        return null;
    }

    /// <summary>
    /// Freshness lifetime. Origin-given lifetimes (s-maxage, max-age, Expires − Date, the Last-Modified heuristic) are
    /// clamped to [minTtl, maxTtl]; with none of them the behavior's defaultTtl applies. no-cache means stored but always
    /// revalidated. Expires and the heuristic are measured from the origin's Date (RFC 9111 4.2.1, 4.2.2), not from the
    /// node's clock, which is used only when Date is missing or invalid.
    /// </summary>
    public static TimeSpan FreshnessLifetime(
        CacheBehavior behavior,
        int status,
        CacheControl cc,
        IReadOnlyList<KeyValuePair<string, StringValues>> headers,
        DateTimeOffset responseTime,
        double heuristicFraction)
    {
        if (cc.NoCache)
        {
            return TimeSpan.Zero;
        }

        TimeSpan? lifetime = null;
        if (cc.SharedMaxAge is { } sMaxAge)
        {
            lifetime = sMaxAge;
        }
        else if (cc.MaxAge is { } maxAge)
        {
            lifetime = maxAge;
        }
        else if (!cc.IsTargeted && Find(headers, HeaderNames.Expires) is { Count: > 0 } expiresValues)
        {
            // An invalid Expires (e.g. "0", or two of them) means already expired (RFC 9111 5.3).
            var date = HttpDate.Parse(Find(headers, HeaderNames.Date), responseTime) ?? responseTime;
            lifetime = HttpDate.Parse(expiresValues, responseTime) is { } expires && expires > date ? expires - date : TimeSpan.Zero;
        }
        else if (AllowsHeuristic(status, cc) && HttpDate.Parse(Find(headers, HeaderNames.LastModified), responseTime) is { } lastModified)
        {
            var date = HttpDate.Parse(Find(headers, HeaderNames.Date), responseTime) ?? responseTime;
            if (date > lastModified)
            {
                lifetime = TimeSpan.FromSeconds((date - lastModified).TotalSeconds * heuristicFraction);
            }
        }

        if (lifetime is null)
        {
            return behavior.DefaultTtl;
        }

        var value = lifetime.Value;
        if (value < behavior.MinTtl)
        {
            value = behavior.MinTtl;
        }

        if (value > behavior.MaxTtl)
        {
            value = behavior.MaxTtl;
        }

        return value;
    }

    /// <summary>
    /// The Age field's value (RFC 9111 5.1): the first of a list or of several lines; null when it is not a non-negative
    /// integer (the field is then ignored). Values past 2^31 saturate.
    /// </summary>
    public static TimeSpan? ParseAge(StringValues values)
    {
        if (values.Count == 0 || values[0] is not { } line)
        {
            return null;
        }

        var span = line.AsSpan();
        var comma = span.IndexOf(',');
        if (comma >= 0)
        {
            span = span[..comma];
        }

        return CacheControl.TryDelta(span.Trim(" \t"), out var age) ? age : null;
    }

    /// <summary>corrected_initial_age of RFC 9111 4.2.3, from the response's own Age and Date before the node drops Age.</summary>
    public static TimeSpan CorrectedInitialAge(IReadOnlyList<KeyValuePair<string, StringValues>> headers, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var ageValue = ParseAge(Find(headers, HeaderNames.Age)) ?? TimeSpan.Zero;
        var apparentAge = TimeSpan.Zero;
        if (HttpDate.Parse(Find(headers, HeaderNames.Date), responseTime) is { } date && responseTime > date)
        {
            apparentAge = responseTime - date;
        }

        var responseDelay = responseTime - requestTime;
        var correctedAgeValue = ageValue + (responseDelay > TimeSpan.Zero ? responseDelay : TimeSpan.Zero);
        return apparentAge > correctedAgeValue ? apparentAge : correctedAgeValue;
    }

    /// <summary>
    /// Never served stale by a shared cache: no-cache (RFC 9111 5.2.2.4: every use is validated), must-revalidate,
    /// proxy-revalidate and s-maxage (5.2.2.2, 5.2.2.8, 5.2.2.10). This binds max-stale, stale-while-revalidate,
    /// stale-if-error and the behavior's staleIfErrorSeconds alike (4.2.4).
    /// </summary>
    public static bool ForbidsStale(CacheControl cc) => cc.NoCache || cc.MustRevalidate || cc.ProxyRevalidate || cc.SharedMaxAge is not null;

    /// <summary>
    /// May <paramref name="entry"/> answer a request with these directives without contacting the origin (RFC 9111 4.2, 5.2.1)?
    /// </summary>
    public static bool SatisfiesRequest(CacheEntry entry, CacheControl requestCc, DateTimeOffset now)
    {
        if (requestCc.NoCache)
        {
            return false;
        }

        var age = entry.CurrentAge(now);
        var lifetime = entry.FreshnessLifetime;
        if (requestCc.MaxAge is { } maxAge && age > maxAge && !(entry.CacheControl.Immutable && age < lifetime))
        {
            // RFC 8246 2.1: a fresh immutable response is not revalidated on a reload (browsers send max-age=0);
            // only an explicit override, no-cache (a forced reload), reaches the origin.
            return false;
        }

        if (requestCc.MinFresh is { } minFresh && lifetime - age < minFresh)
        {
            return false;
        }

        if (age < lifetime)
        {
            return true;
        }

        // Stale: only when the viewer accepts it and the response does not forbid it.
        if (requestCc.MaxStale && !ForbidsStale(entry.CacheControl))
        {
            return requestCc.MaxStaleLimit is not { } limit || age - lifetime <= limit;
        }

        return false;
    }

    /// <summary>Within the stale-while-revalidate window: serve stale and refresh in the background (RFC 5861 3).</summary>
    public static bool WithinStaleWhileRevalidate(CacheEntry entry, DateTimeOffset now)
    {
        if (ForbidsStale(entry.CacheControl) || entry.CacheControl.StaleWhileRevalidate is not { } window)
        {
            return false;
        }

        var staleness = entry.CurrentAge(now) - entry.FreshnessLifetime;
        return staleness >= TimeSpan.Zero && staleness <= window;
    }

    /// <summary>Within a stale-if-error window (response's, request's or the behavior's): serve stale when the origin fails.</summary>
    public static bool WithinStaleIfError(CacheEntry entry, CacheControl requestCc, CacheBehavior behavior, DateTimeOffset now)
    {
        if (ForbidsStale(entry.CacheControl))
        {
            return false;
        }

        var staleness = entry.CurrentAge(now) - entry.FreshnessLifetime;
        var window = behavior.StaleIfError;
        if (entry.CacheControl.StaleIfError is { } responseWindow && responseWindow > window)
        {
            window = responseWindow;
        }

        if (requestCc.StaleIfError is { } requestWindow && requestWindow > window)
        {
            window = requestWindow;
        }

        return staleness <= window;
    }

    public static StringValues Find(IReadOnlyList<KeyValuePair<string, StringValues>> headers, string name)
    {
        // Indexed: foreach over the interface would box an enumerator on every call.
        for (var i = 0; i < headers.Count; i++)
        {
            var (key, value) = headers[i];
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return StringValues.Empty;
    }
}
