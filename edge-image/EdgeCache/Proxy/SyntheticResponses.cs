using System.Text;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Proxy;

/// <summary>Responses the node writes itself: origin errors (502, 504), and its own answers (health, 400, 405, 406, 504 only-if-cached).</summary>
internal sealed class SyntheticResponses(CacheStatusHeaders trace)
{
    /// <summary>An origin that failed: <paramref name="status"/> with a one-line body, never stored.</summary>
    public async Task WriteErrorAsync(HttpContext context, RequestState state, int status, CacheStatus cacheStatus)
    {
        state.Outcome = CacheOutcome.Error;
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        trace.Apply(response.Headers, CacheOutcome.Error, cacheStatus);
        response.ContentType = "text/plain; charset=utf-8";
        var text = status == StatusCodes.Status504GatewayTimeout ? "504 origin timed out\n" : $"{status} origin unavailable\n";
        state.BodyBytes += Encoding.UTF8.GetByteCount(text);
        await response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The node's own answer; for a 4xx or 5xx, <paramref name="message"/> is also the access log's detail.
    /// <paramref name="detail"/> is Cache-Status's (a short reason; <see cref="ResponseDetail"/>), null for none.
    /// </summary>
    public async Task WriteAsync(HttpContext context, RequestState state, int status, string message, string? detail)
    {
        state.Outcome = CacheOutcome.Synthetic;
        state.Detail ??= status >= 400 ? message : null;
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        response.Headers.Via = trace.Via;
        // RFC 9211: neither hit nor fwd, since the node answered without the cache or the origin.
        response.Headers["Cache-Status"] = (detail is null ? trace.Node : trace.Detail(detail)).Value;
        response.ContentType = "text/plain; charset=utf-8";
        var text = status < 300 ? message + "\n" : $"{status}: {message}\n";
        state.BodyBytes += Encoding.UTF8.GetByteCount(text);
        if (!RequestMethod.IsHead(context.Request.Method))
        {
            await response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>406: a coding the origin chose that this viewer does not accept and the node cannot decode (<see cref="Caching.ContentCodings"/>).</summary>
    public Task NotAcceptableAsync(HttpContext context, RequestState state, string coding)
    {
        context.Response.Clear();
        state.Detail = ResponseDetail.Coding(coding);
        return WriteAsync(context, state, StatusCodes.Status406NotAcceptable, $"the origin sent Content-Encoding: {coding}, which this request's Accept-Encoding does not accept and the node cannot decode", state.Detail);
    }
}
