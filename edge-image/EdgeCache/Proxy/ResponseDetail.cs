namespace EdgeCache.Proxy;

/// <summary>
/// The details a response is logged with (the access log's <c>detail</c>) and, where a viewer should see them, sent in
/// Cache-Status's <c>detail</c> parameter. Besides these: origin error kinds (<c>OriginErrorKindLabels</c>), the reasons a
/// response is not shared (<c>CachePolicy.UnshareableReason</c>) and a 4xx's own message.
/// </summary>
public static class ResponseDetail
{
    public const string ViewerGone = "viewer-gone";
    public const string IncompleteBody = "incomplete-body";
    public const string ServeFailed = "serve-failed";
    public const string FromDisk = "disk";
    public const string StaleWhileRevalidate = "stale-while-revalidate";
    public const string StaleIfError = "stale-if-error";
    public const string RequestNoStore = "request-no-store";
    public const string FetchFailed = "fetch-failed";
    public const string VaryRetries = "vary-retries";
    public const string BadRequest = "bad-request";
    public const string MethodNotAllowed = "method-not-allowed";
    public const string OnlyIfCached = "only-if-cached";
    public const string RequestBody = "request-body";

    /// <summary>The fetch brought a 206 piece without the range this viewer asked for (or it asked for the whole).</summary>
    public const string PieceMismatch = "piece-mismatch";

    /// <summary>A collapsed viewer released from a fetch that was passed through for its leader alone.</summary>
    public static string Released(string passReason) => "released:" + passReason;

    /// <summary>The origin's Content-Encoding, which the viewer does not accept and the node cannot decode.</summary>
    public static string Coding(string coding) => "coding:" + coding;
}
