using System.Buffers;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Disk;
using EdgeCache.Fetching;
using EdgeCache.Observability;
using EdgeCache.Origins;
using EdgeCache.Purging;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Proxy;

/// <summary>
/// Forwards what the cache does not keep: unsafe methods (with their bodies, invalidating what they change), requests
/// whose own Cache-Control or a released collapse sends them through, and responses the origin marked unshareable.
/// The origin's response streams to the viewer as it arrives and is never stored.
/// </summary>
internal sealed class PassThroughForwarder(
    BehaviorTable behaviors,
    MemoryCacheStore store,
    DiskCacheStore disk,
    PurgeLog purges,
    EdgeCacheMetrics metrics,
    CacheStatusHeaders trace,
    SyntheticResponses synthetic,
    TimeProvider time,
    string targetedCacheControl)
{
    /// <summary>A GET for this viewer alone: its Range and conditionals go to the origin as they are.</summary>
    public async Task PassAsync(HttpContext context, RequestState state, CacheStatus cacheStatus)
    {
        var request = context.Request;
        var origin = state.Origin;
        OriginResponse response;
        try
        {
            response = await origin.SendAsync(
                new OriginRequest
                {
                    Method = "GET",
                    Path = state.Path,
                    Query = state.ForwardedQuery,
                    Headers = WithRange(state.ForwardedHeaders(request), request.Headers),
                    IfNoneMatch = request.Headers.IfNoneMatch.Count > 0 ? request.Headers.IfNoneMatch.ToString() : null,
                    IfModifiedSince = HttpDate.Parse(request.Headers.IfModifiedSince, time.GetUtcNow()),
                    PassThrough = true,
                },
                context.RequestAborted).ConfigureAwait(false);
        }
        catch (OriginException ex)
        {
            state.Outcome = CacheOutcome.Error;
            state.Detail = ex.Kind.Label();
            metrics.OriginErrors.WithLabels(origin.Id, state.Detail).Inc();
            await synthetic.WriteErrorAsync(context, state, ex.ViewerStatusCode, cacheStatus.WithDetail(state.Detail)).ConfigureAwait(false);
            return;
        }

        await StreamAsync(context, state, response, CacheOutcome.Pass, cacheStatus.WithFwdStatus(response.StatusCode)).ConfigureAwait(false);
    }

    /// <summary>A method other than GET and HEAD (any token a behavior allows), sent with its body; a success invalidates what it changed (RFC 9111 4.4).</summary>
    public async Task ForwardUnsafeAsync(HttpContext context, RequestState state)
    {
        var request = context.Request;
        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0;
        OriginResponse response;
        try
        {
            response = await state.Origin.SendAsync(
                new OriginRequest
                {
                    Method = request.Method,
                    Path = state.Path,
                    Query = state.ForwardedQuery,
                    Headers = state.ForwardedHeaders(request),
                    Body = hasBody ? request.Body : null,
                    BodyLength = request.ContentLength,
                    BodyContentType = request.ContentType,
                    PassThrough = true,
                },
                context.RequestAborted).ConfigureAwait(false);
        }
        catch (OriginException ex)
        {
            state.Outcome = CacheOutcome.Error;
            state.Detail = ex.Kind.Label();
            await synthetic.WriteErrorAsync(context, state, ex.ViewerStatusCode, trace.Forward(ForwardReason.Method).WithDetail(state.Detail)).ConfigureAwait(false);
            return;
        }
        catch (ViewerBodyException ex)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                state.Detail = ResponseDetail.ViewerGone;
                return;
            }

            // Broken chunking, a body over limits.maxRequestBodyBytes, one slower than the minimum data rate: Kestrel's
            // status for it (400, 413, 408), never a 5xx that blames the origin. Kestrel closes the connection after it.
            var status = ex.InnerException is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
            await synthetic.WriteAsync(context, state, status, "request body: " + ex.InnerException!.Message, ResponseDetail.RequestBody).ConfigureAwait(false);
            return;
        }

        // Disposed on every path from here, so no origin connection outlives the request whatever the viewer sent.
        using var _ = response;
        if (!RequestMethod.IsSafe(request.Method) && response.StatusCode is >= 200 and < 400)
        {
            // RFC 9111 4.4: a successful unsafe request invalidates the target URI and the URIs in Location / Content-Location.
            // Every method but the safe ones (RFC 9110 9.2.1) is unsafe, an extension method the node does not know included.
            Invalidate(CacheKey.For(state.Behavior, state.Path, state.KeyQuery, request.Headers));
            InvalidateReferenced(request, CachePolicy.Find(response.Headers, HeaderNames.Location));
            InvalidateReferenced(request, CachePolicy.Find(response.Headers, HeaderNames.ContentLocation));
        }

        await StreamAsync(context, state, response, CacheOutcome.Pass, trace.Forward(ForwardReason.Method).WithFwdStatus(response.StatusCode)).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams an origin response the node does not store to the viewer: its headers (with this node's Via and trace),
    /// then its body as it arrives, decoded for a viewer that does not accept its coding.
    /// </summary>
    public async Task StreamAsync(HttpContext context, RequestState state, OriginResponse originResponse, CacheOutcome outcome, CacheStatus cacheStatus)
    {
        using var _ = originResponse;
        state.Outcome = outcome;
        ViaHeader.AppendTo(originResponse.Headers, trace.Via);
        ContentCodings.AddVary(originResponse.Headers);
        var response = context.Response;
        response.StatusCode = originResponse.StatusCode;
        foreach (var (name, value) in originResponse.Headers)
        {
            // An upstream Age goes on unchanged (RFC 9111 5.1): the response comes from a cache upstream, not from this
            // node's store, so only that cache's estimate applies.
            if (!TargetedCacheControl.IsRemoved(name, targetedCacheControl, state.Behavior.StripCdnCacheControl))
            {
                response.Headers[name] = value;
            }
        }

        trace.Apply(response.Headers, outcome, cacheStatus);
        var undo = ContentCodings.ToUndo(CachePolicy.Find(originResponse.Headers, HeaderNames.ContentEncoding), context.Request.Headers.AcceptEncoding);
        if (undo is not null && !DecodedResponses.PrepareHeaders(response, undo, originResponse.StatusCode))
        {
            await synthetic.NotAcceptableAsync(context, state, undo).ConfigureAwait(false);
            return;
        }

        await using var decoder = undo is null ? null : ContentCodings.OpenDecoder(undo, originResponse.Body);
        var source = decoder ?? originResponse.Body;
        if (undo is null && originResponse.ContentLength is { } length)
        {
            response.ContentLength = length;
        }

        if (RequestMethod.IsHead(context.Request.Method) || originResponse.StatusCode is 204 or 304)
        {
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            // Decoded bytes are not the ones the Content-Length counts.
            using var reader = new OriginBodyReader(source, undo is null ? originResponse.ContentLength : null, state.Origin, time, context.RequestAborted);
            while (await reader.ReadAsync(buffer).ConfigureAwait(false) is var read and > 0)
            {
                await response.BodyWriter.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted).ConfigureAwait(false);
                state.BodyBytes += read;
            }

            reader.EnsureComplete();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A pass-through is not stored, so the viewer's Range can go to the origin as it is.</summary>
    private static IReadOnlyList<KeyValuePair<string, string>> WithRange(IReadOnlyList<KeyValuePair<string, string>> forwarded, IHeaderDictionary headers)
    {
        if (headers.Range.Count == 0)
        {
            return forwarded;
        }

        var list = new List<KeyValuePair<string, string>>(forwarded) { new(HeaderNames.Range, headers.Range.ToString()) };
        if (headers.IfRange.Count > 0)
        {
            list.Add(new(HeaderNames.IfRange, headers.IfRange.ToString()));
        }

        return list;
    }

    private void InvalidateReferenced(HttpRequest request, StringValues location)
    {
        if (location.Count == 0 || location[0] is not { } value)
        {
            return;
        }

        // The raw header: HttpRequest.Host decodes IDN labels, and throws for some Kestrel accepts ("xn--").
        if (!SameAuthorityLocation.TryResolve(request.Headers.Host.ToString(), request.Path.Value ?? "/", value, out var target))
        {
            return;
        }

        var path = Uri.UnescapeDataString(target.AbsolutePath);
        if (!RequestPathValidator.TryValidate(path, out _))
        {
            return;
        }

        var behavior = behaviors.Match(path);
        var (keyQuery, _) = CacheKeyBuilder.Queries(behavior, new QueryString(target.Query.Length > 0 ? target.Query : null));
        Invalidate(CacheKey.For(behavior, path, keyQuery, request.Headers));
    }

    /// <summary>
    /// Both tiers: a copy left on disk would be loaded (and served as a hit) on the next memory miss. Recorded first, so a
    /// fetch or disk write for the key already under way does not store the pre-change representation afterwards.
    /// </summary>
    private void Invalidate(CacheKey key)
    {
        purges.RecordInvalidation(key.Path);
        store.Remove(key.Primary);
        disk.Remove(key);
    }
}
