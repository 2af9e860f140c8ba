using System.Collections.Concurrent;
using EdgeCache.Behaviors;
using EdgeCache.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Caching;

/// <summary>
/// The decisions on an origin's response, made with <see cref="CachePolicy"/>'s RFC 9111 rules: whether it may be shared,
/// how a 304 refreshes the stored entry, when a stale copy stands in for an error, which representation is stored (and
/// in which coding), and the <see cref="CacheEntry"/> it becomes.
/// </summary>
public sealed class OriginResponsePolicy
{
    private const int MaxSharedCacheControls = 1024;

    private readonly double _heuristicFraction;
    private readonly string _targetedName;

    // Parsed response Cache-Control values by their text. An origin sends a handful of distinct values across its
    // objects, and each stored entry otherwise kept its own parsed copy for as long as it is cached (the directives are
    // immutable once parsed). Bounded, for an origin that puts something different in every response.
    private readonly ConcurrentDictionary<string, CacheControl> _cacheControls = new(StringComparer.Ordinal);

    public OriginResponsePolicy(IOptions<EdgeCacheOptions> options)
    {
        _heuristicFraction = options.Value.Cache.HeuristicFraction;
        _targetedName = options.Value.Cache.TargetedCacheControl;
    }

    /// <summary>
    /// The directives this node caches by (RFC 9213 2.1): its own targeted field, else CDN-Cache-Control, when present
    /// and valid, in place of Cache-Control and Expires; otherwise Cache-Control. The targeted field is then removed
    /// from <paramref name="headers"/>, and CDN-Cache-Control too when the behavior strips it, so that no stored, passed
    /// or refreshed response carries them to a viewer.
    /// </summary>
    public CacheControl Directives(CacheBehavior behavior, List<KeyValuePair<string, StringValues>> headers)
    {
        var cc = ParseCacheControl(CachePolicy.Find(headers, HeaderNames.CacheControl));
        var targeted = TargetedCacheControl.Parse(CachePolicy.Find(headers, _targetedName), cc)
            ?? TargetedCacheControl.Parse(CachePolicy.Find(headers, TargetedCacheControl.CdnCacheControl), cc);
        for (var i = headers.Count - 1; i >= 0; i--)
        {
            if (TargetedCacheControl.IsRemoved(headers[i].Key, _targetedName, behavior.StripCdnCacheControl))
            {
                headers.RemoveAt(i);
            }
        }

        return targeted ?? cc;
    }

    /// <summary>
    /// Why the response is for the viewer that asked alone (a reason from <see cref="CachePolicy.UnshareableReason"/>, or
    /// "partial" for a 206 to a request for the whole object); null when it may be shared with collapsed viewers.
    /// </summary>
    public static string? PassReason(CacheBehavior behavior, bool requestHadAuthorization, int status, CacheControl cc, IReadOnlyList<KeyValuePair<string, StringValues>> headers) =>
        CachePolicy.UnshareableReason(behavior, requestHadAuthorization, cc, headers)
        ?? (status == StatusCodes.Status206PartialContent ? "partial" : null);

    /// <summary>A 5xx that a stale copy stands in for (stale-if-error, RFC 5861 4): the viewer gets the copy, not the error.</summary>
    public static bool StaleStandsIn(int status, CacheEntry? stale, CacheControl requestCc, CacheBehavior behavior, DateTimeOffset now) =>
        status >= 500 && stale is not null && CachePolicy.WithinStaleIfError(stale, requestCc, behavior, now);

    /// <summary>An origin's Cache-Control, parsed once per distinct text and shared by the entries that carry it.</summary>
    public CacheControl ParseCacheControl(StringValues values)
    {
        if (values.Count != 1 || values[0] is not { } text)
        {
            return CacheControl.Parse(values);
        }

        if (_cacheControls.TryGetValue(text, out var shared))
        {
            return shared;
        }

        var parsed = CacheControl.Parse(values);
        // The count is read without a lock: a few over the bound under a race is harmless.
        return _cacheControls.Count < MaxSharedCacheControls ? _cacheControls.GetOrAdd(text, parsed) : parsed;
    }

    /// <summary>
    /// The headers and Vary of the representation stored: compressed in <paramref name="coding"/> when the node compresses
    /// it (<see cref="ResponseCompression"/>), otherwise as sent, with Vary: Accept-Encoding added when the origin chose a
    /// coding itself (negotiated per viewer when served, <see cref="ContentCodings"/>).
    /// </summary>
    public static (List<KeyValuePair<string, StringValues>> Headers, string[] VaryNames, string? ETag) Representation(List<KeyValuePair<string, StringValues>> headers, string? coding)
    {
        var varyNames = CacheKeyBuilder.ParseVary(CachePolicy.Find(headers, HeaderNames.Vary));
        var etag = CachePolicy.Find(headers, HeaderNames.ETag) is { Count: > 0 } etagValues ? etagValues[0] : null;
        if (coding is null)
        {
            ContentCodings.AddVary(headers);
            return (headers, varyNames, etag);
        }

        if (!varyNames.Contains(CacheKeyBuilder.AcceptEncoding))
        {
            varyNames = [.. varyNames.Append(CacheKeyBuilder.AcceptEncoding).Order(StringComparer.Ordinal)];
        }

        return (ResponseCompression.Headers(headers, coding, etag), varyNames, etag);
    }

    /// <summary>The entry a response becomes, its body still to arrive into <paramref name="body"/>.</summary>
    public CacheEntry NewEntry(
        CacheBehavior behavior,
        int status,
        List<KeyValuePair<string, StringValues>> headers,
        CachedBody body,
        long? contentLength,
        CacheControl cc,
        string[] varyNames,
        string secondaryKey,
        string? etag,
        DateTimeOffset requestTime,
        DateTimeOffset responseTime)
    {
        // The origin's (or an upstream cache's) Age counts towards the entry's age, so it is read before it is dropped.
        var correctedInitialAge = CachePolicy.CorrectedInitialAge(headers, requestTime, responseTime);
        return new()
        {
            StatusCode = status,
            Headers = StripAge(headers),
            Body = body,
            ContentLength = contentLength,
            RequestTime = requestTime,
            ResponseTime = responseTime,
            CorrectedInitialAge = correctedInitialAge,
            FreshnessLifetime = CachePolicy.FreshnessLifetime(behavior, status, cc, headers, responseTime, _heuristicFraction),
            CacheControl = cc,
            VaryNames = varyNames,
            SecondaryKey = secondaryKey,
            ETag = etag,
            LastModified = HttpDate.Parse(CachePolicy.Find(headers, HeaderNames.LastModified), responseTime),
        };
    }

    /// <summary>
    /// RFC 9111 4.3.4: the stored entry with its headers updated from a 304, keeping the representation's own metadata.
    /// <paramref name="notModifiedDirectives"/> are the 304's (<see cref="Directives"/>): a targeted field it carries
    /// replaces the stored one; without one, the stored entry's targeted directives still hold over Cache-Control.
    /// </summary>
    public CacheEntry Refresh(CacheBehavior behavior, CacheEntry stale, List<KeyValuePair<string, StringValues>> notModified, CacheControl notModifiedDirectives, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var merged = new List<KeyValuePair<string, StringValues>>(stale.Headers.Count + notModified.Count);
        var replaced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, _) in notModified)
        {
            if (!IsRepresentationMetadata(name))
            {
                replaced.Add(name);
            }
        }

        foreach (var header in stale.Headers)
        {
            if (!replaced.Contains(header.Key))
            {
                merged.Add(header);
            }
        }

        foreach (var header in notModified)
        {
            if (replaced.Contains(header.Key) && !header.Key.Equals(HeaderNames.Age, StringComparison.OrdinalIgnoreCase))
            {
                merged.Add(header);
            }
        }

        var cc = notModifiedDirectives.IsTargeted ? notModifiedDirectives
            : stale.CacheControl.IsTargeted ? stale.CacheControl
            : ParseCacheControl(CachePolicy.Find(merged, HeaderNames.CacheControl));
        return new CacheEntry
        {
            StatusCode = stale.StatusCode,
            Headers = merged,
            Body = stale.Body,
            ContentLength = stale.ContentLength,
            RequestTime = requestTime,
            ResponseTime = responseTime,
            CorrectedInitialAge = CachePolicy.CorrectedInitialAge(notModified, requestTime, responseTime),
            FreshnessLifetime = CachePolicy.FreshnessLifetime(behavior, stale.StatusCode, cc, merged, responseTime, _heuristicFraction),
            CacheControl = cc,
            VaryNames = stale.VaryNames,
            SecondaryKey = stale.SecondaryKey,
            ETag = stale.ETag,
            LastModified = HttpDate.Parse(CachePolicy.Find(merged, HeaderNames.LastModified), responseTime) ?? stale.LastModified,
        };
    }

    private static bool IsRepresentationMetadata(string name) =>
        name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentRange, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ETag, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Vary, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The headers an entry keeps: without Age (the node computes its own), in an array of their exact number rather
    /// than the list they were read into, which would keep its spare capacity and itself for as long as the entry is cached.
    /// </summary>
    private static KeyValuePair<string, StringValues>[] StripAge(List<KeyValuePair<string, StringValues>> headers)
    {
        headers.RemoveAll(h => h.Key.Equals(HeaderNames.Age, StringComparison.OrdinalIgnoreCase));
        return [.. headers];
    }
}
