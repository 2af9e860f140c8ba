using Microsoft.Extensions.Primitives;

namespace EdgeCache.Caching;

/// <summary>
/// Targeted cache-control fields (RFC 9213): CDN-Cache-Control and the node's own field (cache.targetedCacheControl).
/// Each is a Structured Field Dictionary of Cache-Control's directives; the first present and valid one in precedence
/// order replaces Cache-Control and Expires for the node's own caching (2.1). One that is empty or fails to parse is
/// ignored as if absent, and a directive whose value has the wrong type is ignored on its own.
/// </summary>
public static class TargetedCacheControl
{
    public const string CdnCacheControl = "CDN-Cache-Control";

    private const long MaxDeltaSeconds = 2147483648;

    /// <summary>
    /// The directives of a targeted field, or null when it is absent, empty or invalid. no-transform stays what
    /// <paramref name="cacheControl"/> says: it is about the representation every recipient gets, not about this cache.
    /// </summary>
    public static CacheControl? Parse(StringValues values, CacheControl cacheControl)
    {
        // Several lines are one field, joined with commas (RFC 9651 4.2); one line is itself.
        var text = string.Join(", ", values.Where(v => v is not null));
        if (string.IsNullOrWhiteSpace(text) || StructuredDictionary.Parse(text) is not { } members)
        {
            return null;
        }

        var cc = new CacheControl { TargetedText = text, NoTransform = cacheControl.NoTransform };
        foreach (var (name, item) in members)
        {
            switch (name)
            {
                case "max-age":
                    cc.MaxAge = Delta(item);
                    break;
                case "s-maxage":
                    cc.SharedMaxAge = Delta(item);
                    break;
                case "stale-while-revalidate":
                    cc.StaleWhileRevalidate = Delta(item);
                    break;
                case "stale-if-error":
                    cc.StaleIfError = Delta(item);
                    break;
                case "no-store":
                    cc.NoStore = Flag(item);
                    break;
                case "no-cache":
                    // Qualified (a list of field names) reads as unqualified, the safe reading, as in Cache-Control.
                    cc.NoCache = Flag(item) || item.Type is StructuredItemType.String or StructuredItemType.InnerList;
                    break;
                case "private":
                    cc.Private = Flag(item) || item.Type is StructuredItemType.String or StructuredItemType.InnerList;
                    break;
                case "public":
                    cc.Public = Flag(item);
                    break;
                case "must-revalidate":
                    cc.MustRevalidate = Flag(item);
                    break;
                case "proxy-revalidate":
                    cc.ProxyRevalidate = Flag(item);
                    break;
                case "immutable":
                    cc.Immutable = Flag(item);
                    break;
                default:
                    break;
            }
        }

        return cc;
    }

    /// <summary>
    /// Whether a response field stays with this node: the node's targeted field always (it is for this CDN alone), and
    /// CDN-Cache-Control when the behavior strips it.
    /// </summary>
    public static bool IsRemoved(string name, string targetedName, bool stripCdnCacheControl) =>
        name.Equals(targetedName, StringComparison.OrdinalIgnoreCase)
        || (stripCdnCacheControl && name.Equals(CdnCacheControl, StringComparison.OrdinalIgnoreCase));

    /// <summary>A non-negative Integer as delta-seconds, capped at 2^31 (RFC 9111 1.2.2); anything else ignores the directive.</summary>
    private static TimeSpan? Delta(StructuredItem item) =>
        item is { Type: StructuredItemType.Integer, Integer: >= 0 } ? TimeSpan.FromSeconds(Math.Min(item.Integer, MaxDeltaSeconds)) : null;

    private static bool Flag(StructuredItem item) => item is { Type: StructuredItemType.Boolean, Boolean: true };
}
