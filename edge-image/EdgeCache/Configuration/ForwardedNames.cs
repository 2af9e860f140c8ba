using System.ComponentModel;

namespace EdgeCache.Configuration;

/// <summary>
/// originRequest.headers or originRequest.cookies: a list of names, or one keyword that forwards them all ("allViewer",
/// "allViewerExceptHost" for headers, "all" for cookies, as CloudFront's origin request policies offer). The JSON
/// field is either an array or a string; the string binds through <see cref="ForwardedNamesConverter"/>.
/// </summary>
[TypeConverter(typeof(ForwardedNamesConverter))]
public sealed class ForwardedNames : List<string>
{
    public const string AllViewer = "allViewer";
    public const string AllViewerExceptHost = "allViewerExceptHost";
    public const string AllCookies = "all";

    /// <summary>The keyword given instead of a list, or null for a list (empty by default).</summary>
    public string? All { get; init; }

    public static ForwardedNames Keyword(string keyword) => new() { All = keyword };
}
