using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeCache.Configuration;
using EdgeCache.Purging;
using EdgeCache.Syntax;
using Microsoft.Extensions.Options;

namespace EdgeCache.Admin;

/// <summary>
/// <c>POST /purge</c> with <c>Authorization: Bearer &lt;EDGECACHE_ADMIN_TOKEN&gt;</c> and a JSON <see cref="PurgeRequest"/>;
/// answers <c>{"id": "...", "removed": N}</c>. The token is compared in constant time.
/// </summary>
public static class PurgeEndpoint
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow };

    public static async Task HandleAsync(HttpContext context, IServiceProvider services)
    {
        var response = context.Response;
        if (!RequestMethod.IsPost(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "POST";
            return;
        }

        var token = services.GetRequiredService<IOptions<EdgeCacheOptions>>().Value.AdminToken;
        if (token is null)
        {
            await Problem(context, StatusCodes.Status403Forbidden, "the purge API is disabled: set EDGECACHE_ADMIN_TOKEN").ConfigureAwait(false);
            return;
        }

        if (!IsAuthorized(context.Request.Headers.Authorization.ToString(), token))
        {
            response.Headers.WWWAuthenticate = "Bearer realm=\"edgecache-admin\"";
            await Problem(context, StatusCodes.Status401Unauthorized, "Authorization: a valid bearer token is required").ConfigureAwait(false);
            return;
        }

        PurgeRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<PurgeRequest>(context.Request.Body, Json, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            await Problem(context, StatusCodes.Status400BadRequest, $"body: not a purge request ({ex.Message})").ConfigureAwait(false);
            return;
        }

        if (request is null)
        {
            await Problem(context, StatusCodes.Status400BadRequest, "body: a JSON object is required").ConfigureAwait(false);
            return;
        }

        if (PurgeMatcher.TryCreate(request, out var error) is not { } matcher)
        {
            await Problem(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }

        var result = services.GetRequiredService<PurgeService>().Purge(matcher);
        response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(response.Body, new { id = result.Id, removed = result.Removed }, Json, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Constant-time comparison, so response timing reveals nothing about the token.</summary>
    internal static bool IsAuthorized(string authorization, string token)
    {
        const string Scheme = "Bearer ";
        var presented = authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? authorization[Scheme.Length..].Trim() : "";
        // Hash both sides first so the comparison is fixed-length as well as fixed-time.
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(expected, actual) && presented.Length > 0;
    }

    private static async Task Problem(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new { error = detail }, Json, context.RequestAborted).ConfigureAwait(false);
    }
}
