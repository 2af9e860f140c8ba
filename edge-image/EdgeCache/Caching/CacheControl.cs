using Microsoft.Extensions.Primitives;

namespace EdgeCache.Caching;

/// <summary>
/// Parsed Cache-Control directives (RFC 9111 5.2), request or response side.
/// Malformed values are handled the way RFC 9111 asks a cache to be safe: an unparsable
/// max-age/s-maxage counts as 0 (stale), duplicates keep the most restrictive value,
/// and values past 2^31 are capped at 2147483648 seconds (1.2.2).
/// </summary>
public sealed class CacheControl
{
    public static readonly CacheControl Empty = new();

    private const long MaxDeltaSeconds = 2147483648;

    public bool NoStore { get; internal set; }

    public bool NoCache { get; internal set; }

    public bool Private { get; internal set; }

    public bool Public { get; internal set; }

    public bool MustRevalidate { get; internal set; }

    public bool ProxyRevalidate { get; internal set; }

    public bool Immutable { get; internal set; }

    public bool NoTransform { get; internal set; }

    public bool OnlyIfCached { get; internal set; }

    public TimeSpan? MaxAge { get; internal set; }

    public TimeSpan? SharedMaxAge { get; internal set; }

    public TimeSpan? MinFresh { get; internal set; }

    /// <summary>Request max-stale present; <see cref="MaxStaleLimit"/> null means "any staleness".</summary>
    public bool MaxStale { get; internal set; }

    public TimeSpan? MaxStaleLimit { get; internal set; }

    public TimeSpan? StaleWhileRevalidate { get; internal set; }

    public TimeSpan? StaleIfError { get; internal set; }

    /// <summary>
    /// The text of the targeted field (RFC 9213) these directives came from, or null for Cache-Control. A cache that uses
    /// a targeted field ignores Cache-Control and Expires for itself.
    /// </summary>
    public string? TargetedText { get; internal set; }

    public bool IsTargeted => TargetedText is not null;

    public static CacheControl Parse(StringValues values)
    {
        if (StringValues.IsNullOrEmpty(values))
        {
            return Empty;
        }

        var cc = new CacheControl();
        foreach (var value in values)
        {
            if (value is not null)
            {
                cc.ParseLine(value);
            }
        }

        return cc;
    }

    private void ParseLine(string line)
    {
        var span = line.AsSpan();
        while (!span.IsEmpty)
        {
            // Split on the next comma that is not inside a quoted string.
            var end = 0;
            var quoted = false;
            for (; end < span.Length; end++)
            {
                var c = span[end];
                if (c == '"')
                {
                    quoted = !quoted;
                }
                else if (c == '\\' && quoted)
                {
                    end++;
                }
                else if (c == ',' && !quoted)
                {
                    break;
                }
            }

            var item = span[..Math.Min(end, span.Length)].Trim();
            span = end >= span.Length ? [] : span[(end + 1)..];
            if (!item.IsEmpty)
            {
                Apply(item);
            }
        }
    }

    private void Apply(ReadOnlySpan<char> item)
    {
        var eq = item.IndexOf('=');
        var name = (eq < 0 ? item : item[..eq]).Trim();
        var hasValue = eq >= 0;
        var value = hasValue ? item[(eq + 1)..].Trim() : [];
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            value = value[1..^1];
        }

        switch (name)
        {
            case var n when n.Equals("no-store", StringComparison.OrdinalIgnoreCase):
                NoStore = true;
                break;
            case var n when n.Equals("no-cache", StringComparison.OrdinalIgnoreCase):
                // The qualified form (no-cache="Set-Cookie") is treated as unqualified: RFC 9111 5.2.2.4 allows it and it is the safe reading.
                NoCache = true;
                break;
            case var n when n.Equals("private", StringComparison.OrdinalIgnoreCase):
                // Likewise private="field": a shared cache must not store those fields; not storing at all is the safe reading.
                Private = true;
                break;
            case var n when n.Equals("public", StringComparison.OrdinalIgnoreCase):
                Public = true;
                break;
            case var n when n.Equals("must-revalidate", StringComparison.OrdinalIgnoreCase):
                MustRevalidate = true;
                break;
            case var n when n.Equals("proxy-revalidate", StringComparison.OrdinalIgnoreCase):
                ProxyRevalidate = true;
                break;
            case var n when n.Equals("immutable", StringComparison.OrdinalIgnoreCase):
                Immutable = true;
                break;
            case var n when n.Equals("no-transform", StringComparison.OrdinalIgnoreCase):
                NoTransform = true;
                break;
            case var n when n.Equals("only-if-cached", StringComparison.OrdinalIgnoreCase):
                OnlyIfCached = true;
                break;
            case var n when n.Equals("max-age", StringComparison.OrdinalIgnoreCase):
                MaxAge = Min(MaxAge, Delta(value, hasValue, invalidAs: 0));
                break;
            case var n when n.Equals("s-maxage", StringComparison.OrdinalIgnoreCase):
                SharedMaxAge = Min(SharedMaxAge, Delta(value, hasValue, invalidAs: 0));
                break;
            case var n when n.Equals("min-fresh", StringComparison.OrdinalIgnoreCase):
                // An unparsable min-fresh is ignored rather than guessed.
                if (TryDelta(value, out var minFresh))
                {
                    MinFresh = MinFresh is { } mf && mf > minFresh ? mf : minFresh;
                }

                break;
            case var n when n.Equals("max-stale", StringComparison.OrdinalIgnoreCase):
                if (!hasValue)
                {
                    MaxStale = true;
                    MaxStaleLimit = null;
                }
                else if (TryDelta(value, out var maxStale) && !(MaxStale && MaxStaleLimit is null))
                {
                    MaxStale = true;
                    MaxStaleLimit = Min(MaxStaleLimit, maxStale);
                }

                break;
            case var n when n.Equals("stale-while-revalidate", StringComparison.OrdinalIgnoreCase):
                if (TryDelta(value, out var swr))
                {
                    StaleWhileRevalidate = Min(StaleWhileRevalidate, swr);
                }

                break;
            case var n when n.Equals("stale-if-error", StringComparison.OrdinalIgnoreCase):
                if (TryDelta(value, out var sie))
                {
                    StaleIfError = Min(StaleIfError, sie);
                }

                break;
            default:
                // Unknown extensions are ignored (RFC 9111 5.2.3).
                break;
        }
    }

    private static TimeSpan Delta(ReadOnlySpan<char> value, bool hasValue, long invalidAs) =>
        hasValue && TryDelta(value, out var delta) ? delta : TimeSpan.FromSeconds(invalidAs);

    internal static bool TryDelta(ReadOnlySpan<char> value, out TimeSpan delta)
    {
        delta = default;
        if (value.IsEmpty)
        {
            return false;
        }

        long seconds = 0;
        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            if (seconds < MaxDeltaSeconds)
            {
                seconds = (seconds * 10) + (c - '0');
            }
        }

        delta = TimeSpan.FromSeconds(Math.Min(seconds, MaxDeltaSeconds));
        return true;
    }

    private static TimeSpan? Min(TimeSpan? current, TimeSpan next) => current is { } c && c < next ? c : next;
}
