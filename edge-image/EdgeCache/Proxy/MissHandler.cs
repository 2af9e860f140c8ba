using System.Runtime.CompilerServices;
using EdgeCache.Caching;
using EdgeCache.Disk;
using EdgeCache.Fetching;
using EdgeCache.Origins;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Proxy;

/// <summary>
/// A request the cache cannot answer by itself: joins (or starts) the one origin fetch for its collapse key, waits for
/// it, and serves what it brings — a shared response, the leader's own pass-through, or an error a stale copy may
/// stand in for.
/// </summary>
internal sealed class MissHandler(
    FetchCoordinator coordinator,
    DiskCacheStore disk,
    EntryResponder responder,
    PassThroughForwarder forwarder,
    SyntheticResponses synthetic,
    CacheStatusHeaders trace,
    TimeProvider time)
{
    /// <summary>
    /// Serves the request from the fetch for its variant. False, with nothing sent, when the fetch it collapsed into
    /// brought a variant this viewer cannot use (the response varies on a header it sent differently): the caller looks
    /// up again, and the next attempt collapses only with misses for its own variant.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ServeAsync(HttpContext context, RequestState state, CacheLookupResult found)
    {
        var request = context.Request;
        var stale = found.Entry;
        var key = state.Key!;
        var fetch = coordinator.GetOrStart(
            key.CollapseKey(state.Behavior, state.WantedEncoding, state.KnownVary ?? disk.VaryNamesOf(key), request.Headers),
            NewFetch(context, state, stale),
            out var isLeader);
        // Left when the request ends, however it ends: the fetched body's file is held until then.
        context.Response.RegisterForDispose(new FetchMembership(fetch));
        state.Collapsed = !isLeader;
        FetchOutcome outcome;
        try
        {
            if (isLeader)
            {
                // Resume where the fetch finishes, not through Outcome's thread-pool continuations (InFlightFetch.Running).
                await fetch.Running.WaitAsync(context.RequestAborted).ConfigureAwait(false);
            }

            outcome = await fetch.Outcome.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            if (isLeader)
            {
                fetch.AbandonByLeader();
            }

            throw;
        }

        switch (outcome)
        {
            case FetchOutcome.Shared shared:
                var served = shared.Entry;
                if (!isLeader && served.VaryNames.Length > 0 && CacheKeyBuilder.SecondaryKey(served.VaryNames, request.Headers) != served.SecondaryKey)
                {
                    state.KnownVary = served.VaryNames;
                    return false;
                }

                if (!RangeResponses.CanAnswer(request, served))
                {
                    // The origin sent a piece (for the leader's Range) without what this viewer asks for: it is not
                    // the whole object, so this viewer's own request goes to the origin as it is.
                    state.Detail = ResponseDetail.PieceMismatch;
                    await forwarder.PassAsync(context, state, trace.Forward(ForwardReason.Partial).WithDetail(ResponseDetail.PieceMismatch)).ConfigureAwait(false);
                    return true;
                }

                // "stored" (RFC 9211) only once the fetch has stored the entry: known for a body complete by now, as a
                // small one is; one still arriving may yet be refused, purged or cut off, so it is not claimed.
                if (shared.Revalidated)
                {
                    var status = trace.Forward(ForwardReason.Stale).WithFwdStatus(304).WithTtl(EntryResponder.TtlSeconds(served, time.GetUtcNow()))
                        .WithStored(shared.Stored).WithCollapsed(!isLeader);
                    await responder.ServeAsync(context, state, served, CacheOutcome.RefreshHit, status).ConfigureAwait(false);
                }
                else
                {
                    var status = trace.Miss(found.MissReason, shared.OriginStatus, shared.Stored, !isLeader);
                    if (shared.UnstorableReason is { } unstorable)
                    {
                        // Shared with the viewers that collapsed into it, but not kept: Cache-Status says why.
                        status = status.WithDetail(unstorable);
                    }

                    await responder.ServeAsync(context, state, served, CacheOutcome.Miss, status, herd: fetch.Waiters > 0).ConfigureAwait(false);
                }

                return true;

            case FetchOutcome.Pass pass:
                await ServePassAsync(context, state, fetch, isLeader, pass, found.MissReason).ConfigureAwait(false);
                return true;

            case FetchOutcome.Failed failed:
                await ServeFailedAsync(context, state, failed, stale, found.MissReason, !isLeader).ConfigureAwait(false);
                return true;

            default:
                throw new InvalidOperationException($"unknown fetch outcome {outcome.GetType().Name}");
        }
    }

    /// <summary>Refreshes <paramref name="stale"/> in the background (stale-while-revalidate); at most one refresh per key runs.</summary>
    public void StartRefresh(HttpContext context, RequestState state, CacheEntry stale) =>
        coordinator.StartBackgroundRefresh(
            state.Key!.CollapseKey(state.Behavior, state.WantedEncoding, stale.VaryNames, context.Request.Headers),
            NewFetch(context, state, stale));

    /// <summary>A response that will not be stored: the leader streams its own; a collapsed viewer fetches for itself.</summary>
    private async Task ServePassAsync(HttpContext context, RequestState state, InFlightFetch fetch, bool isLeader, FetchOutcome.Pass pass, ForwardReason missReason)
    {
        if (isLeader && fetch.ClaimPass() is { } own)
        {
            state.Detail = pass.Reason;
            var request = context.Request;
            if (request.Headers.Range.Count > 0 && RequestMethod.IsGet(request.Method))
            {
                // The fetch asked for the whole object (to cache it); it will not be cached, so the viewer's Range (and
                // If-Range) goes to the origin as for any pass-through, and the viewer gets its 206.
                own.Dispose();
                await forwarder.PassAsync(context, state, trace.Forward(missReason).WithDetail(pass.Reason)).ConfigureAwait(false);
                return;
            }

            await forwarder.StreamAsync(context, state, own, CacheOutcome.Pass, trace.Forward(missReason).WithFwdStatus(own.StatusCode).WithDetail(pass.Reason)).ConfigureAwait(false);
            return;
        }

        // Released: the leader's answer was for the leader alone.
        var released = ResponseDetail.Released(pass.Reason);
        state.Detail = released;
        await forwarder.PassAsync(context, state, trace.Forward(ForwardReason.Bypass).WithDetail(released)).ConfigureAwait(false);
    }

    /// <summary>The origin failed: a stale copy stands in where stale-if-error allows, otherwise the viewer gets the error.</summary>
    private async Task ServeFailedAsync(HttpContext context, RequestState state, FetchOutcome.Failed failed, CacheEntry? stale, ForwardReason missReason, bool collapsed)
    {
        var now = time.GetUtcNow();
        if (stale is not null && CachePolicy.WithinStaleIfError(stale, state.RequestCacheControl, state.Behavior, now))
        {
            state.Detail = ResponseDetail.StaleIfError;
            var status = trace.Forward(ForwardReason.Stale).WithFwdStatus(failed.ViewerStatus).WithTtl(EntryResponder.TtlSeconds(stale, now))
                .WithDetail(ResponseDetail.StaleIfError).WithCollapsed(collapsed);
            await responder.ServeAsync(context, state, stale, CacheOutcome.Stale, status).ConfigureAwait(false);
            return;
        }

        state.Outcome = CacheOutcome.Error;
        state.Detail = failed.Error is OriginException oe ? oe.Kind.Label() : ResponseDetail.FetchFailed;
        await synthetic.WriteErrorAsync(context, state, failed.ViewerStatus, trace.Forward(missReason).WithDetail(state.Detail).WithCollapsed(collapsed)).ConfigureAwait(false);
    }

    private static FetchRequest NewFetch(HttpContext context, RequestState state, CacheEntry? stale) => new()
    {
        Behavior = state.Behavior,
        Origin = state.Origin,
        Key = state.Key!,
        ForwardedQuery = state.ForwardedQuery,
        ForwardedHeaders = state.ForwardedHeaders(context.Request),
        RequestHeaders = new RequestHeaderSnapshot(context.Request.Headers),
        RequestCacheControl = state.RequestCacheControl,
        WantedEncoding = state.WantedEncoding,
        StaleEntry = stale,
    };
}
