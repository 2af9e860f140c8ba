namespace EdgeCache.Tests.Infrastructure;

internal static class ResponseExtensions
{
    public static string Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values)
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? string.Join(", ", contentValues)
        : "";

    public static string XCache(this HttpResponseMessage response) => response.Header("X-Cache");
}
