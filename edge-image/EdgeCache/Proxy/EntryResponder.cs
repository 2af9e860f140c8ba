using System.Globalization;
using System.Runtime.CompilerServices;
using EdgeCache.Caching;
using EdgeCache.FastPath;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Proxy;

/// <summary>
/// Sends a stored (or arriving) entry to a viewer: its headers and trace, then 304 for a matching conditional, 206 or
/// 416 for a range (<see cref="RangeResponses"/>), the decoded body for a viewer that does not accept its coding, nothing
/// for HEAD, and otherwise the body, by reference to the socket when the fast path can take it.
/// </summary>
internal sealed class EntryResponder(CacheStatusHeaders trace, SyntheticResponses synthetic, TimeProvider time)
{
    /// <summary>
    /// Stored bodies from this size go to the socket by reference (listen.directBodySend); below it the copy into the
    /// headers' block costs less than a second iovec and a separate header write.
    /// </summary>
    private const int DirectSendMinimumBytes = 16 * 1024;

    /// <summary>Representation headers a 304 from the cache does not carry.</summary>
    private static readonly string[] NotModifiedOmits =
        [HeaderNames.ContentType, HeaderNames.ContentEncoding, HeaderNames.ContentLanguage, HeaderNames.ContentDisposition, HeaderNames.SetCookie];

    /// <summary>The entry's remaining freshness in whole seconds (negative once stale), for Cache-Status's ttl.</summary>
    public static long TtlSeconds(CacheEntry entry, DateTimeOffset now) => (long)Math.Floor(entry.TimeToLive(now).TotalSeconds);

    /// <param name="cacheStatus">The response's Cache-Status, or null for a fresh hit, whose entry keeps its own for the second (<see cref="HitHeaderValues"/>).</param>
    /// <param name="hitTtl">A fresh hit's ttl.</param>
    /// <param name="herd">
    /// Several viewers were woken by one origin response: each sends its status line and headers, then queues its body
    /// copy behind the others' (the thread pool's global queue is FIFO), so no viewer waits for others' megabytes before
    /// it hears the response has started — Varnish's streaming to waiters, not nginx's lock polling.
    /// </param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ServeAsync(HttpContext context, RequestState state, CacheEntry entry, CacheOutcome outcome, CacheStatus? cacheStatus, long hitTtl = 0, bool herd = false)
    {
        state.Outcome = outcome;
        var response = context.Response;
        var headers = response.Headers;
        var (etag, contentEncoding) = CopyHeaders(entry, headers);
        var age = (long)Math.Max(0, entry.CurrentAge(time.GetUtcNow()).TotalSeconds);
        if (cacheStatus is { } status)
        {
            headers.Age = age.ToString(CultureInfo.InvariantCulture);
            trace.Apply(headers, outcome, status);
        }
        else
        {
            // A fresh hit, the common case: Age and Cache-Status change once a second, so the entry keeps the strings.
            var formatted = HitHeaderValues.For(entry, age, hitTtl, trace.HitPrefix);
            headers.Age = formatted.AgeText;
            trace.ApplyFreshHit(headers, formatted);
        }

        // A coding the viewer does not accept: the origin chose it (the node's own codings are variants the viewer selected).
        var undo = ContentCodings.ToUndo(contentEncoding, context.Request.Headers.AcceptEncoding);
        if (undo is not null && !DecodedResponses.PrepareHeaders(response, undo, entry.StatusCode))
        {
            await synthetic.NotAcceptableAsync(context, state, undo).ConfigureAwait(false);
            return;
        }

        if (ViewerConditionals.IsNotModified(context.Request, entry.StatusCode, etag, entry.LastModified))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            foreach (var name in NotModifiedOmits)
            {
                headers.Remove(name);
            }

            return;
        }

        response.StatusCode = entry.StatusCode;
        if (undo is not null)
        {
            // Whole, decoded as it is sent: a range of the decoded bytes is not known until then (a server may ignore Range).
            await DecodedResponses.SendAsync(context, state, entry.Body, undo).ConfigureAwait(false);
            return;
        }

        var body = entry.Body;
        long? length = body.IsCompleted ? body.Length : entry.ContentLength;
        if (PartialContent.Of(entry) is { } piece)
        {
            // A stored piece (RFC 9111 3.3): the ranges it holds come from it. Otherwise it goes out as the origin sent
            // it, which only a viewer of the fetch that brought it gets (CacheLookup never finds it for anything else).
            headers.AcceptRanges = "bytes";
            if (await RangeResponses.TryServePieceAsync(context, state, entry, piece).ConfigureAwait(false))
            {
                return;
            }
        }
        else if (entry.StatusCode == StatusCodes.Status200OK)
        {
            headers.AcceptRanges = "bytes";
            if (context.Request.Headers.Range.Count > 0 && RequestMethod.IsGet(context.Request.Method))
            {
                if (length is null && await body.WaitForCompletionAsync(context.RequestAborted).ConfigureAwait(false))
                {
                    // Length unknown until the end (chunked or compressed): a range needs it for Content-Range.
                    length = body.Length;
                }

                if (length is { } total && await RangeResponses.TryServeAsync(context, state, entry, etag, total).ConfigureAwait(false))
                {
                    return;
                }
            }
        }

        if (length is { } known)
        {
            response.ContentLength = known;
        }

        if (RequestMethod.IsHead(context.Request.Method) || entry.StatusCode is 204 or 304)
        {
            return;
        }

        if (herd)
        {
            // StartAsync only puts the headers in Kestrel's output buffer; the flush sends them now, not with the body.
            await response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            await Task.Factory.StartNew(static () => { }, CancellationToken.None, TaskCreationOptions.PreferFairness, TaskScheduler.Default).ConfigureAwait(false);
        }

        if (body.TryGetSingleSegment(out var whole))
        {
            await SendWholeAsync(context, state, body, whole).ConfigureAwait(false);
            return;
        }

        await CopyBodyAsync(context, state, body, 0, long.MaxValue).ConfigureAwait(false);
    }

    /// <summary>Copies <paramref name="body"/>'s bytes [<paramref name="start"/>, <paramref name="end"/>) to the viewer as they arrive.</summary>
    public static ValueTask CopyBodyAsync(HttpContext context, RequestState state, CachedBody body, long start, long end)
    {
        // The state's own delegate, not a closure: a body of several segments is copied without allocating.
        state.UseBodyWriter(context.Response.BodyWriter);
        return body.CopyToAsync(state.WriteBody, start, end, context.RequestAborted);
    }

    /// <summary>The stored headers onto the response; returns the two the rest of serving needs. Indexed: foreach over the interface boxes an enumerator per hit.</summary>
    private static (StringValues ETag, StringValues ContentEncoding) CopyHeaders(CacheEntry entry, IHeaderDictionary headers)
    {
        var etag = StringValues.Empty;
        var contentEncoding = StringValues.Empty;
        var stored = entry.Headers;
        for (var i = 0; i < stored.Count; i++)
        {
            var (name, value) = stored[i];
            headers[name] = value;
            if (name.Equals(HeaderNames.ETag, StringComparison.OrdinalIgnoreCase))
            {
                etag = value;
            }
            else if (name.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase))
            {
                contentEncoding = value;
            }
        }

        return (etag, contentEncoding);
    }

    /// <summary>The common hit: one write of the stored bytes, no streaming loop; by reference to the socket when the viewer's connection has the fast path.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask SendWholeAsync(HttpContext context, RequestState state, CachedBody body, ReadOnlyMemory<byte> whole)
    {
        var response = context.Response;
        state.BodyBytes += whole.Length;
        if (whole.Length >= DirectSendMinimumBytes && context.Features.Get<ViewerSocketWriter>() is { } socketWriter)
        {
            // The headers go into the connection's writer first; the stored bytes then follow by reference and the
            // kernel copies them from here (listen.directBodySend). A single-segment body is complete, so its
            // Content-Length is set and Kestrel counts the bytes against it. The feature exists only on the viewer
            // listener, which is plain HTTP/1.1: with TLS or HTTP/2 the connection's bytes are not the response's.
            await response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            if (socketWriter.TryQueueStoredBody(response.BodyWriter, whole))
            {
                // Kestrel times a flush against the bytes it wrote itself: the headers only, here. It would allow its
                // 5 s grace for the whole body and cut off any viewer reading slower. limits.viewerSendTimeoutSeconds
                // (ViewerSendWatchdog) watches this send instead. Kestrel resets the rate for the next request.
                if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } minResponseRate)
                {
                    minResponseRate.MinDataRate = null;
                }

                await response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
                return;
            }
        }

        await response.BodyWriter.WriteAsync(whole, context.RequestAborted).ConfigureAwait(false);
        // Kestrel copies from the body's span: a mapped body (MappedBodyMemory) must outlive that copy even if it is
        // evicted meanwhile, and the span alone does not keep it reachable.
        GC.KeepAlive(body);
    }
}
