using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.Fetching;
using EdgeCache.Http;
using EdgeCache.Observability;
using EdgeCache.Origins;
using EdgeCache.Purging;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Proxy;

/// <summary>
/// Answers viewer requests: matches the behavior, looks the key up, serves hits, collapses misses into one origin
/// fetch, revalidates stale entries, and forwards what must not be cached. Viewer input only ever selects a
/// configured behavior and a validated path beneath its origin.
/// </summary>
public sealed partial class EdgeProxy
{
    /// <summary>Answered on the viewer port for load-balancer and Route 53 health checks (liveness only).</summary>
    public const string ViewerHealthPath = "/.edge/healthz";

    private const int MaxVaryRetries = 3;

    /// <summary>Primary keys up to this many characters are formatted on the stack for the memory lookup.</summary>
    private const int StackKeyChars = 256;

    /// <summary>
    /// Stored bodies from this size go to the socket by reference (listen.directBodySend); below it the copy into the
    /// headers' block costs less than a second iovec and a separate header write.
    /// </summary>
    private const int DirectSendMinimumBytes = 16 * 1024;

    /// <summary>Representation headers a 304 from the cache does not carry.</summary>
    private static readonly string[] NotModifiedOmits =
        [HeaderNames.ContentType, HeaderNames.ContentEncoding, HeaderNames.ContentLanguage, HeaderNames.ContentDisposition, HeaderNames.SetCookie];

    private readonly BehaviorTable _behaviors;
    private readonly OriginRegistry _origins;
    private readonly MemoryCacheStore _store;
    private readonly DiskCacheStore _disk;
    private readonly FetchCoordinator _coordinator;
    private readonly PurgeLog _purges;
    private readonly TimeProvider _time;
    private readonly EdgeCacheMetrics _metrics;
    private readonly ILogger<EdgeProxy> _logger;
    private readonly ILogger _accessLog;
    private readonly bool _accessLogEnabled;
    private readonly string _via;
    private readonly string _nodeName;
    private readonly string _hitStatusPrefix;
    private readonly (Prometheus.Counter.Child Requests, Prometheus.Counter.Child Bytes)[] _outcomeMetrics;

    // Origin statuses are three digits and miss kinds three, so this stays small.
    private readonly ConcurrentDictionary<(string MissKind, int OriginStatus, bool Stored, bool Collapsed), string> _missStatuses = new();

    // Enough for the requests one node has in flight at once; beyond it a state is allocated and dropped as before.
    private readonly DefaultObjectPool<RequestState> _states = new(new DefaultPooledObjectPolicy<RequestState>(), 1024);

    public EdgeProxy(
        BehaviorTable behaviors,
        OriginRegistry origins,
        MemoryCacheStore store,
        DiskCacheStore disk,
        FetchCoordinator coordinator,
        PurgeLog purges,
        TimeProvider time,
        EdgeCacheMetrics metrics,
        IOptions<EdgeCacheOptions> options,
        ILoggerFactory loggerFactory)
    {
        _behaviors = behaviors;
        _origins = origins;
        _store = store;
        _disk = disk;
        _coordinator = coordinator;
        _purges = purges;
        _time = time;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger<EdgeProxy>();
        _accessLog = loggerFactory.CreateLogger("EdgeCache.AccessLog");
        _accessLogEnabled = options.Value.AccessLog.Enabled;
        _nodeName = options.Value.Node.Name;
        _via = ViaHeader.For(_nodeName);
        _hitStatusPrefix = _nodeName + "; hit; ttl=";
        // Label children resolved once: WithLabels on every request costs a lookup and an array.
        _outcomeMetrics = [.. Enum.GetValues<CacheOutcome>().Select(o => (metrics.Requests.WithLabels(Label(o)), metrics.ResponseBytes.WithLabels(Label(o))))];
    }

    /// <summary>
    /// The viewer port's request delegate. A request served without waiting (most hits) allocates nothing here. One that
    /// waits (a large hit whose viewer's socket takes it a window at a time, listen.notSentLowWaterBytes; any miss) has
    /// its state machines from pools, and only the Task handed back to Kestrel is new.
    /// </summary>
    public Task InvokeAsync(HttpContext context)
    {
        var running = ServeAsync(context);
        if (running.IsCompletedSuccessfully)
        {
            // Consumed, so that a state machine which did wait goes back to its pool.
            running.GetAwaiter().GetResult();
            return Task.CompletedTask;
        }

        return running.AsTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ServeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var state = _states.Get();
        try
        {
            await HandleAsync(context, state).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            state.Detail ??= "viewer-gone";
        }
        catch (IncompleteBodyException ex)
        {
            state.Outcome = CacheOutcome.Error;
            state.Detail = "incomplete-body";
            if (context.Response.HasStarted)
            {
                // Part of the response is out: abort so the viewer sees a truncated transfer, never a short "complete" one.
                LogAbortedIncomplete(_logger, context.Request.Path.Value ?? "", ex.Message);
                context.Abort();
            }
            else
            {
                // Nothing has reached the viewer: the origin's broken body is a bad gateway, answered as one.
                LogBadGatewayIncomplete(_logger, context.Request.Path.Value ?? "", ex.Message);
                context.Response.Clear();
                await WriteErrorAsync(context, state, StatusCodes.Status502BadGateway, "detail=incomplete-body").ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            // Caught here rather than left to Kestrel (which answers 500 or aborts) so that the access log and the
            // outcome metric below say what the viewer got, not the status and outcome decided before serving failed.
            state.Outcome = CacheOutcome.Error;
            state.Detail = "serve-failed";
            LogServeFailed(_logger, context.Request.Path.Value ?? "", ex);
            if (context.Response.HasStarted)
            {
                context.Abort();
            }
            else
            {
                context.Response.Clear();
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                context.Response.Headers.CacheControl = "no-store";
                context.Response.ContentLength = 0;
            }
        }
        finally
        {
            var (requests, bytes) = _outcomeMetrics[(int)state.Outcome];
            requests.Inc();
            bytes.Inc(state.BodyBytes);
            if (_accessLogEnabled)
            {
                var label = Label(state.Outcome);
                LogAccess(
                    _accessLog,
                    context.Request.Method,
                    context.Request.Path.Value ?? "",
                    context.Request.QueryString.Value ?? "",
                    context.Response.StatusCode,
                    label,
                    state.BodyBytes,
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                    state.BehaviorIndex,
                    state.Collapsed,
                    state.Detail,
                    context.Connection.RemoteIpAddress?.ToString());
            }

            // Every use of the state (the body copies included) was awaited above.
            _states.Return(state);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask HandleAsync(HttpContext context, RequestState state)
    {
        var request = context.Request;
        var path = request.Path.Value;
        if (!RequestPathValidator.TryValidate(path, out var problem))
        {
            await WriteSyntheticAsync(context, state, StatusCodes.Status400BadRequest, problem!).ConfigureAwait(false);
            return;
        }

        if (path == ViewerHealthPath && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            await WriteSyntheticAsync(context, state, StatusCodes.Status200OK, "ok").ConfigureAwait(false);
            return;
        }

        ConnectionListedHeaders.Remove(request.Headers);
        var behavior = _behaviors.Match(path);
        state.BehaviorIndex = behavior.Index;
        if (!behavior.AllowedMethods.Contains(request.Method))
        {
            context.Response.Headers.Allow = behavior.AllowHeader;
            await WriteSyntheticAsync(context, state, StatusCodes.Status405MethodNotAllowed, $"method {request.Method} is not allowed for {behavior.Pattern}").ConfigureAwait(false);
            return;
        }

        var origin = _origins[behavior.OriginId];
        var (keyQuery, forwardedQuery) = CacheKeyBuilder.Queries(behavior, request.QueryString);
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            await ForwardUnsafeAsync(context, state, behavior, origin, path!, keyQuery, forwardedQuery, ForwardedHeaders(behavior, request.Headers)).ConfigureAwait(false);
            return;
        }

        var requestCc = behavior.RespectViewerCacheControl ? RequestCacheControl(request.Headers) : CacheControl.Empty;
        // The memory lookup needs no key string (FindVariants); it is built once the request is not a fresh memory hit.
        string? primaryKey = null;
        var wanted = behavior.Compress ? CacheKeyBuilder.NormalizeAcceptEncoding(request.Headers.AcceptEncoding) : "identity";
        // Built on the first miss only: a hit needs none of them.
        IReadOnlyList<KeyValuePair<string, string>>? forwardedHeaders = null;
        string[]? knownVary = null;

        for (var attempt = 0; attempt < MaxVaryRetries; attempt++)
        {
            var now = _time.GetUtcNow();
            CacheEntry? entry = null;
            var missKind = "uri-miss";
            if (FindVariants(behavior, path!, keyQuery, request.Headers, ref primaryKey) is { } variants)
            {
                entry = variants.Find(CacheKeyBuilder.SecondaryKey(variants.VaryNames, request.Headers));
                missKind = entry is null ? "vary-miss" : "stale";
                knownVary = variants.VaryNames;
            }

            if (entry is not null && CachePolicy.SatisfiesRequest(entry, requestCc, now))
            {
                await ServeEntryAsync(context, state, entry, CacheOutcome.Hit, null, TtlSeconds(entry, now)).ConfigureAwait(false);
                return;
            }

            primaryKey ??= CacheKeyBuilder.PrimaryKey(behavior, path!, keyQuery, request.Headers);
            var generation = _purges.Generation;
            if (entry is null && _disk.Enabled && await _disk.LoadAsync(primaryKey, request.Headers, context.RequestAborted).ConfigureAwait(false) is { } fromDisk)
            {
                // Promoted: the disk tier's copy (checksums verified) becomes the memory tier's, unless it is too large
                // for memory, in which case it keeps being served from its file. Not if a purge or invalidation landed
                // while it was read: that one swept memory already, and would find the copy back there after it.
                if (!fromDisk.Body.IsFileBacked)
                {
                    _store.Store(primaryKey, fromDisk, _purges, generation, CacheKeyBuilder.PathOf(primaryKey));
                }
                else
                {
                    // Its file is this request's to close, when the request ends (CachedBody's remarks).
                    context.Response.RegisterForDispose(new BodyReference(fromDisk.Body));
                }

                entry = fromDisk;
                missKind = "stale";
                state.Detail = "disk";
            }

            if (entry is not null)
            {
                // Fresh from memory was served above; here a copy just loaded from disk may be.
                if (CachePolicy.SatisfiesRequest(entry, requestCc, now))
                {
                    await ServeEntryAsync(context, state, entry, CacheOutcome.Hit, null, TtlSeconds(entry, now)).ConfigureAwait(false);
                    return;
                }

                if (!requestCc.NoCache && CachePolicy.WithinStaleWhileRevalidate(entry, now))
                {
                    forwardedHeaders ??= ForwardedHeaders(behavior, request.Headers);
                    _coordinator.StartBackgroundRefresh(CollapseKey.For(primaryKey, behavior, wanted, entry.VaryNames, request.Headers), NewFetch(behavior, origin, primaryKey, path!, forwardedQuery, forwardedHeaders, request.Headers, requestCc, wanted, entry));
                    state.Detail = "stale-while-revalidate";
                    await ServeEntryAsync(context, state, entry, CacheOutcome.Stale, CacheStatus($"hit; ttl={TtlSeconds(entry, now)}; detail=stale-while-revalidate")).ConfigureAwait(false);
                    return;
                }
            }

            if (requestCc.OnlyIfCached)
            {
                await WriteSyntheticAsync(context, state, StatusCodes.Status504GatewayTimeout, "only-if-cached: no stored response satisfies the request").ConfigureAwait(false);
                return;
            }

            forwardedHeaders ??= ForwardedHeaders(behavior, request.Headers);
            if (requestCc.NoStore)
            {
                state.Detail = "request-no-store";
                await PassAsync(context, state, origin, path!, forwardedQuery, forwardedHeaders, "fwd=request").ConfigureAwait(false);
                return;
            }

            var fetch = _coordinator.GetOrStart(
                CollapseKey.For(primaryKey, behavior, wanted, knownVary ?? _disk.VaryNamesOf(primaryKey), request.Headers),
                NewFetch(behavior, origin, primaryKey, path!, forwardedQuery, forwardedHeaders, request.Headers, requestCc, wanted, entry),
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

            var collapsed = isLeader ? "" : "; collapsed";
            switch (outcome)
            {
                case FetchOutcome.Shared shared:
                    var served = shared.Entry;
                    if (!isLeader && served.VaryNames.Length > 0 && CacheKeyBuilder.SecondaryKey(served.VaryNames, request.Headers) != served.SecondaryKey)
                    {
                        // The response varies on a header this viewer sent differently: it needs its own variant, and the
                        // next attempt collapses only with misses for that variant.
                        knownVary = served.VaryNames;
                        continue;
                    }

                    // "stored" (RFC 9211) only once the fetch has stored the entry: known for a body complete by now, as
                    // a small one is; one still arriving may yet be refused, purged or cut off, so it is not claimed.
                    if (shared.Revalidated)
                    {
                        await ServeEntryAsync(context, state, served, CacheOutcome.RefreshHit, CacheStatus($"fwd=stale; fwd-status=304; ttl={TtlSeconds(served, _time.GetUtcNow())}{(shared.Stored ? "; stored" : "")}{collapsed}")).ConfigureAwait(false);
                    }
                    else
                    {
                        await ServeEntryAsync(context, state, served, CacheOutcome.Miss, MissCacheStatus(missKind, shared.OriginStatus, shared.Stored, !isLeader), herd: fetch.Waiters > 0).ConfigureAwait(false);
                    }

                    return;

                case FetchOutcome.Pass pass:
                    if (isLeader && fetch.ClaimPass() is { } own)
                    {
                        state.Detail = pass.Reason;
                        if (request.Headers.Range.Count > 0 && HttpMethods.IsGet(request.Method))
                        {
                            // The fetch asked for the whole object (to cache it); it will not be cached, so the viewer's
                            // Range (and If-Range) goes to the origin as for any pass-through, and the viewer gets its 206.
                            own.Dispose();
                            await PassAsync(context, state, origin, path!, forwardedQuery, forwardedHeaders, $"fwd={missKind}; detail={pass.Reason}").ConfigureAwait(false);
                            return;
                        }

                        await StreamOriginResponseAsync(context, state, origin, own, CacheOutcome.Pass, $"fwd={missKind}; fwd-status={own.StatusCode}; detail={pass.Reason}").ConfigureAwait(false);
                        return;
                    }

                    // Released: the leader's answer was for the leader alone.
                    state.Detail = "released:" + pass.Reason;
                    await PassAsync(context, state, origin, path!, forwardedQuery, forwardedHeaders, "fwd=bypass").ConfigureAwait(false);
                    return;

                case FetchOutcome.Failed failed:
                    if (entry is not null && CachePolicy.WithinStaleIfError(entry, requestCc, behavior, _time.GetUtcNow()))
                    {
                        state.Detail = "stale-if-error";
                        await ServeEntryAsync(context, state, entry, CacheOutcome.Stale, CacheStatus($"fwd=stale; fwd-status={failed.ViewerStatus}; ttl={TtlSeconds(entry, _time.GetUtcNow())}; detail=stale-if-error{collapsed}")).ConfigureAwait(false);
                        return;
                    }

                    state.Outcome = CacheOutcome.Error;
                    state.Detail = failed.Error is OriginException oe ? oe.Kind.Label() : "fetch-failed";
                    await WriteErrorAsync(context, state, failed.ViewerStatus, $"fwd={missKind}; detail={state.Detail}{collapsed}").ConfigureAwait(false);
                    return;
            }
        }

        await PassAsync(context, state, origin, path!, forwardedQuery, forwardedHeaders ?? ForwardedHeaders(behavior, request.Headers), "fwd=vary-miss; detail=vary-retries").ConfigureAwait(false);
    }

    /// <summary>
    /// The memory tier's variants for the request. A key that is just prefix, path and query is looked up by its
    /// characters, without making a string (a hit needs none); otherwise the key string is built into
    /// <paramref name="primaryKey"/>, and that is used once set.
    /// </summary>
    private VariantSet? FindVariants(CacheBehavior behavior, string path, string keyQuery, IHeaderDictionary headers, ref string? primaryKey)
    {
        if (primaryKey is null)
        {
            var length = CacheKeyBuilder.SimplePrimaryKeyLength(behavior, path, keyQuery);
            if (length >= 0)
            {
                char[]? rented = null;
                var key = length <= StackKeyChars ? stackalloc char[StackKeyChars] : (rented = ArrayPool<char>.Shared.Rent(length));
                try
                {
                    CacheKeyBuilder.FormatSimplePrimaryKey(behavior, path, keyQuery, key);
                    return _store.Get(key[..length]);
                }
                finally
                {
                    if (rented is not null)
                    {
                        ArrayPool<char>.Shared.Return(rented);
                    }
                }
            }

            primaryKey = CacheKeyBuilder.PrimaryKey(behavior, path, keyQuery, headers);
        }

        return _store.Get(primaryKey);
    }

    private static FetchRequest NewFetch(
        CacheBehavior behavior,
        IOrigin origin,
        string primaryKey,
        string path,
        string forwardedQuery,
        IReadOnlyList<KeyValuePair<string, string>> forwardedHeaders,
        IHeaderDictionary requestHeaders,
        CacheControl requestCc,
        string wanted,
        CacheEntry? stale)
    {
        return new FetchRequest
        {
            Behavior = behavior,
            Origin = origin,
            PrimaryKey = primaryKey,
            Path = path,
            ForwardedQuery = forwardedQuery,
            ForwardedHeaders = forwardedHeaders,
            RequestHeaders = new RequestHeaderSnapshot(requestHeaders),
            RequestCacheControl = requestCc,
            WantedEncoding = wanted,
            StaleEntry = stale,
        };
    }

    private static CacheControl RequestCacheControl(IHeaderDictionary headers)
    {
        var cc = headers.CacheControl;
        if (cc.Count == 0 && headers.Pragma.ToString().Contains("no-cache", StringComparison.OrdinalIgnoreCase))
        {
            // RFC 9111 5.4: Pragma: no-cache means Cache-Control: no-cache when Cache-Control is absent.
            return CacheControl.Parse("no-cache");
        }

        return CacheControl.Parse(cc);
    }

    /// <summary>The viewer headers the behavior forwards; an empty array, not a new list, when there are none (the default).</summary>
    private static IReadOnlyList<KeyValuePair<string, string>> ForwardedHeaders(CacheBehavior behavior, IHeaderDictionary headers)
    {
        List<KeyValuePair<string, string>>? list = null;
        foreach (var name in behavior.ForwardedHeaders)
        {
            if (name == "cookie")
            {
                continue;
            }

            var value = headers[name];
            if (value.Count > 0)
            {
                (list ??= []).Add(new(name, value.Count == 1 ? value[0]! : string.Join(", ", value.ToArray())));
            }
        }

        if (behavior.ForwardedCookies.Count > 0 && headers.Cookie.Count > 0)
        {
            var sb = new StringBuilder();
            foreach (var (name, value) in CacheKeyBuilder.ParseCookies(headers.Cookie))
            {
                if (behavior.ForwardedCookies.Contains(name))
                {
                    if (sb.Length > 0)
                    {
                        sb.Append("; ");
                    }

                    sb.Append(name).Append('=').Append(value);
                }
            }

            if (sb.Length > 0)
            {
                (list ??= []).Add(new("Cookie", sb.ToString()));
            }
        }

        return list is null ? [] : list;
    }

    /// <param name="herd">
    /// Several viewers were woken by one origin response: each sends its status line and headers, then queues its body
    /// copy behind the others' (the thread pool's global queue is FIFO), so no viewer waits for others' megabytes before
    /// it hears the response has started — Varnish's streaming to waiters, not nginx's lock polling.
    /// </param>
    /// <param name="cacheStatus">The whole Cache-Status value (<see cref="CacheStatus"/>), or null for a fresh hit, which formats its own.</param>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ServeEntryAsync(HttpContext context, RequestState state, CacheEntry entry, CacheOutcome outcome, string? cacheStatus, long hitTtl = 0, bool herd = false)
    {
        state.Outcome = outcome;
        var response = context.Response;
        var headers = response.Headers;
        var etag = StringValues.Empty;
        var contentEncoding = StringValues.Empty;
        var stored = entry.Headers;
        // Indexed: foreach over the IReadOnlyList interface boxes an enumerator per hit.
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

        var now = _time.GetUtcNow();
        var age = (long)Math.Max(0, entry.CurrentAge(now).TotalSeconds);
        if (cacheStatus is null)
        {
            // A fresh hit, the common case: Age and Cache-Status change once a second, so the entry keeps the strings.
            var formatted = HitHeaderValues.For(entry, age, hitTtl, _hitStatusPrefix);
            headers.Age = formatted.AgeText;
            if (headers.Via.Count == 0)
            {
                // An entry whose origin sent Via stores the chain with this node's entry already appended (ViaHeader).
                headers.Via = _via;
            }

            headers["X-Cache"] = "Hit";
            headers["Cache-Status"] = formatted.CacheStatus;
        }
        else
        {
            headers.Age = age.ToString(System.Globalization.CultureInfo.InvariantCulture);
            SetTrace(headers, outcome, cacheStatus);
        }

        // A coding the viewer does not accept: the origin chose it (the node's own codings are variants the viewer selected).
        var undo = ContentCodings.ToUndo(contentEncoding, context.Request.Headers.AcceptEncoding);
        if (undo is not null && !PrepareDecoded(response, undo, entry.StatusCode))
        {
            await NotAcceptableAsync(context, state, undo).ConfigureAwait(false);
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
            await SendDecodedAsync(context, state, entry.Body, undo).ConfigureAwait(false);
            return;
        }

        var body = entry.Body;
        long? length = body.IsCompleted ? body.Length : entry.ContentLength;
        if (entry.StatusCode == StatusCodes.Status200OK)
        {
            headers.AcceptRanges = "bytes";
            if (context.Request.Headers.Range.Count > 0 && HttpMethods.IsGet(context.Request.Method))
            {
                if (length is null && await body.WaitForCompletionAsync(context.RequestAborted).ConfigureAwait(false))
                {
                    // Length unknown until the end (chunked or compressed): a range needs it for Content-Range.
                    length = body.Length;
                }

                if (length is { } total)
                {
                    switch (ByteRanges.Evaluate(context.Request, total, etag, entry.LastModified, out var ranges))
                    {
                        case ByteRanges.Decision.Unsatisfiable:
                            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                            headers.ContentRange = $"bytes */{total}";
                            response.ContentLength = 0;
                            return;
                        case ByteRanges.Decision.Partial:
                            await ServeRangesAsync(context, state, entry, ranges, total).ConfigureAwait(false);
                            return;
                    }
                }
            }
        }

        if (length is { } known)
        {
            response.ContentLength = known;
        }

        if (HttpMethods.IsHead(context.Request.Method) || entry.StatusCode is 204 or 304)
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

        if (outcome is not CacheOutcome.Miss)
        {
            // Served from the cache: the second such hit moves a large body into an in-memory file (listen.sendFile).
            // Not misses: a body a fetch's own viewers read may never be stored.
            body.PrepareForSendFile();
        }

        if (body.TryGetSingleSegment(out var whole))
        {
            // The common hit: one write of the stored bytes, no streaming loop.
            state.BodyBytes += whole.Length;
            if (whole.Length >= DirectSendMinimumBytes && context.Features.Get<ViewerSocketWriter>() is { } socketWriter)
            {
                // The headers go into the connection's writer first; the stored bytes then follow by reference and
                // the kernel copies them from here (listen.directBodySend). A single-segment body is complete, so its
                // Content-Length is set above and Kestrel counts the bytes against it. The feature exists only on the
                // viewer listener, which is plain HTTP/1.1: with TLS or HTTP/2 the connection's bytes are not the
                // response's.
                await response.StartAsync(context.RequestAborted).ConfigureAwait(false);
                if (socketWriter.TryQueueStoredBody(response.BodyWriter, whole))
                {
                    // Kestrel times a flush against the bytes it wrote itself: the headers only, here. It would allow
                    // its 5 s grace for the whole body and cut off any viewer reading slower. limits.viewerSendTimeoutSeconds
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
            return;
        }

        await CopyBodyAsync(context, state, body, 0, long.MaxValue).ConfigureAwait(false);
    }

    /// <summary>206: one range as is, several as multipart/byteranges (RFC 9110 14.6). Bytes go out as soon as they arrive.</summary>
    private static async Task ServeRangesAsync(HttpContext context, RequestState state, CacheEntry entry, List<(long Start, long End)> ranges, long total)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status206PartialContent;
        if (ranges.Count == 1)
        {
            var (start, end) = ranges[0];
            response.Headers.ContentRange = ByteRanges.ContentRange(start, end, total);
            response.ContentLength = end - start + 1;
            await CopyBodyAsync(context, state, entry.Body, start, end + 1).ConfigureAwait(false);
            return;
        }

        var boundary = "edgecache-" + Guid.NewGuid().ToString("N");
        var contentType = entry.GetHeader(HeaderNames.ContentType).ToString();
        var parts = ranges.Select(r => Encoding.ASCII.GetBytes(
            $"--{boundary}\r\n" + (contentType.Length > 0 ? $"Content-Type: {contentType}\r\n" : "") + $"Content-Range: {ByteRanges.ContentRange(r.Start, r.End, total)}\r\n\r\n")).ToList();
        var closing = Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n");
        var crlf = "\r\n"u8.ToArray();
        response.ContentType = "multipart/byteranges; boundary=" + boundary;
        response.Headers.Remove(HeaderNames.ContentEncoding);
        response.ContentLength = parts.Sum(p => p.Length) + ranges.Sum(r => r.End - r.Start + 1) + ((ranges.Count - 1) * crlf.Length) + closing.Length;
        for (var i = 0; i < ranges.Count; i++)
        {
            if (i > 0)
            {
                await response.BodyWriter.WriteAsync(crlf, context.RequestAborted).ConfigureAwait(false);
            }

            await response.BodyWriter.WriteAsync(parts[i], context.RequestAborted).ConfigureAwait(false);
            await CopyBodyAsync(context, state, entry.Body, ranges[i].Start, ranges[i].End + 1).ConfigureAwait(false);
        }

        await response.BodyWriter.WriteAsync(closing, context.RequestAborted).ConfigureAwait(false);
    }

    private static ValueTask CopyBodyAsync(HttpContext context, RequestState state, CachedBody body, long start, long end)
    {
        // The state's own delegate, not a closure: a body of several segments is copied without allocating.
        state.UseBodyWriter(context.Response.BodyWriter);
        return body.CopyToAsync(state.WriteBody, start, end, context.RequestAborted);
    }

    private async Task PassAsync(HttpContext context, RequestState state, IOrigin origin, string path, string query, IReadOnlyList<KeyValuePair<string, string>> forwardedHeaders, string cacheStatus)
    {
        var request = context.Request;
        OriginResponse response;
        try
        {
            response = await origin.SendAsync(
                new OriginRequest
                {
                    Method = "GET",
                    Path = path,
                    Query = query,
                    Headers = WithRange(forwardedHeaders, request.Headers),
                    IfNoneMatch = request.Headers.IfNoneMatch.Count > 0 ? request.Headers.IfNoneMatch.ToString() : null,
                    IfModifiedSince = CachePolicy.ParseDate(request.Headers.IfModifiedSince),
                    PassThrough = true,
                },
                context.RequestAborted).ConfigureAwait(false);
        }
        catch (OriginException ex)
        {
            state.Outcome = CacheOutcome.Error;
            state.Detail = ex.Kind.Label();
            _metrics.OriginErrors.WithLabels(origin.Id, state.Detail).Inc();
            await WriteErrorAsync(context, state, ex.ViewerStatusCode, $"{cacheStatus}; detail={state.Detail}").ConfigureAwait(false);
            return;
        }

        await StreamOriginResponseAsync(context, state, origin, response, CacheOutcome.Pass, $"{cacheStatus}; fwd-status={response.StatusCode}").ConfigureAwait(false);
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

    private async Task ForwardUnsafeAsync(
        HttpContext context,
        RequestState state,
        CacheBehavior behavior,
        IOrigin origin,
        string path,
        string keyQuery,
        string forwardedQuery,
        IReadOnlyList<KeyValuePair<string, string>> forwardedHeaders)
    {
        var request = context.Request;
        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0;
        OriginResponse response;
        try
        {
            response = await origin.SendAsync(
                new OriginRequest
                {
                    Method = request.Method,
                    Path = path,
                    Query = forwardedQuery,
                    Headers = forwardedHeaders,
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
            await WriteErrorAsync(context, state, ex.ViewerStatusCode, $"fwd=method; detail={state.Detail}").ConfigureAwait(false);
            return;
        }
        catch (ViewerBodyException ex)
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                state.Detail = "viewer-gone";
                return;
            }

            // Broken chunking, a body over limits.maxRequestBodyBytes, one slower than the minimum data rate: Kestrel's
            // status for it (400, 413, 408), never a 5xx that blames the origin. Kestrel closes the connection after it.
            var status = ex.InnerException is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;
            await WriteSyntheticAsync(context, state, status, "request body: " + ex.InnerException!.Message).ConfigureAwait(false);
            return;
        }

        // Disposed on every path from here, so no origin connection outlives the request whatever the viewer sent.
        using var _ = response;
        if (!HttpMethods.IsOptions(request.Method) && response.StatusCode is >= 200 and < 400)
        {
            // RFC 9111 4.4: a successful unsafe request invalidates the target URI and the URIs in Location / Content-Location.
            Invalidate(CacheKeyBuilder.PrimaryKey(behavior, path, keyQuery, request.Headers));
            InvalidateReferenced(request, CachePolicy.Find(response.Headers, HeaderNames.Location));
            InvalidateReferenced(request, CachePolicy.Find(response.Headers, HeaderNames.ContentLocation));
        }

        await StreamOriginResponseAsync(context, state, origin, response, CacheOutcome.Pass, $"fwd=method; fwd-status={response.StatusCode}").ConfigureAwait(false);
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

        var behavior = _behaviors.Match(path);
        var (keyQuery, _) = CacheKeyBuilder.Queries(behavior, new QueryString(target.Query.Length > 0 ? target.Query : null));
        Invalidate(CacheKeyBuilder.PrimaryKey(behavior, path, keyQuery, request.Headers));
    }

    /// <summary>
    /// Both tiers: a copy left on disk would be loaded (and served as a hit) on the next memory miss. Recorded first, so a
    /// fetch or disk write for the key already under way does not store the pre-change representation afterwards.
    /// </summary>
    private void Invalidate(string primaryKey)
    {
        _purges.RecordInvalidation(CacheKeyBuilder.PathOf(primaryKey));
        _store.Remove(primaryKey);
        _disk.Remove(primaryKey);
    }

    private async Task StreamOriginResponseAsync(HttpContext context, RequestState state, IOrigin origin, OriginResponse originResponse, CacheOutcome outcome, string cacheStatus)
    {
        using var _ = originResponse;
        state.Outcome = outcome;
        ViaHeader.AppendTo(originResponse.Headers, _via);
        ContentCodings.AddVary(originResponse.Headers);
        var response = context.Response;
        response.StatusCode = originResponse.StatusCode;
        foreach (var (name, value) in originResponse.Headers)
        {
            if (!name.Equals(HeaderNames.Age, StringComparison.OrdinalIgnoreCase))
            {
                response.Headers[name] = value;
            }
        }

        AddTrace(response.Headers, outcome, cacheStatus);
        var undo = ContentCodings.ToUndo(CachePolicy.Find(originResponse.Headers, HeaderNames.ContentEncoding), context.Request.Headers.AcceptEncoding);
        if (undo is not null && !PrepareDecoded(response, undo, originResponse.StatusCode))
        {
            await NotAcceptableAsync(context, state, undo).ConfigureAwait(false);
            return;
        }

        await using var decoder = undo is null ? null : ContentCodings.OpenDecoder(undo, originResponse.Body);
        var source = decoder ?? originResponse.Body;
        if (undo is null && originResponse.ContentLength is { } length)
        {
            response.ContentLength = length;
        }

        if (HttpMethods.IsHead(context.Request.Method) || originResponse.StatusCode is 204 or 304)
        {
            return;
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            using var idle = new IdleTimeout(_time, origin.ReadTimeout, context.RequestAborted);
            long copied = 0;
            while (true)
            {
                idle.Restart(origin.ReadTimeout);
                int read;
                try
                {
                    read = await source.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or HttpRequestException or InvalidDataException || (ex is OperationCanceledException && !context.RequestAborted.IsCancellationRequested))
                {
                    throw new IncompleteBodyException($"origin body failed after {copied} bytes", ex);
                }

                if (read == 0)
                {
                    break;
                }

                await response.BodyWriter.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted).ConfigureAwait(false);
                copied += read;
                state.BodyBytes += read;
            }

            if (undo is null && originResponse.ContentLength is { } expected && copied != expected)
            {
                throw new IncompleteBodyException($"origin sent {copied} of {expected} bytes");
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task WriteErrorAsync(HttpContext context, RequestState state, int status, string cacheStatus)
    {
        state.Outcome = CacheOutcome.Error;
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        AddTrace(response.Headers, CacheOutcome.Error, cacheStatus);
        response.ContentType = "text/plain; charset=utf-8";
        var text = status == StatusCodes.Status504GatewayTimeout ? "504 origin timed out\n" : $"{status} origin unavailable\n";
        state.BodyBytes += Encoding.UTF8.GetByteCount(text);
        await response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task WriteSyntheticAsync(HttpContext context, RequestState state, int status, string message)
    {
        state.Outcome = CacheOutcome.Synthetic;
        state.Detail ??= status >= 400 ? message : null;
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        response.Headers.Via = _via;
        response.ContentType = "text/plain; charset=utf-8";
        var text = status < 300 ? message + "\n" : $"{status}: {message}\n";
        state.BodyBytes += Encoding.UTF8.GetByteCount(text);
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The Cache-Status value: this node's name, then <paramref name="detail"/>.</summary>
    private string CacheStatus(string detail) => _nodeName + "; " + detail;

    /// <summary>
    /// A miss's Cache-Status, kept per (miss kind, origin status, stored, collapsed): every miss served one, and the few
    /// combinations that occur repeat, so formatting it each time cost two strings per miss.
    /// </summary>
    private string MissCacheStatus(string missKind, int originStatus, bool stored, bool collapsed) =>
        _missStatuses.GetOrAdd(
            (missKind, originStatus, stored, collapsed),
            static (key, nodeName) => $"{nodeName}; fwd={key.MissKind}; fwd-status={key.OriginStatus}{(key.Stored ? "; stored" : "")}{(key.Collapsed ? "; collapsed" : "")}",
            _nodeName);

    private void AddTrace(IHeaderDictionary headers, CacheOutcome outcome, string cacheStatus) => SetTrace(headers, outcome, CacheStatus(cacheStatus));

    /// <param name="cacheStatus">The whole Cache-Status value, node name included.</param>
    private void SetTrace(IHeaderDictionary headers, CacheOutcome outcome, string cacheStatus)
    {
        if (headers.Via.Count == 0)
        {
            headers.Via = _via;
        }

        headers["X-Cache"] = outcome switch
        {
            CacheOutcome.Hit => "Hit",
            CacheOutcome.RefreshHit => "RefreshHit",
            CacheOutcome.Stale => "Stale",
            CacheOutcome.Error => "Error",
            _ => "Miss",
        };
        headers["Cache-Status"] = cacheStatus;
    }

    private static long TtlSeconds(CacheEntry entry, DateTimeOffset now) => (long)Math.Floor(entry.TimeToLive(now).TotalSeconds);

    private static string Label(CacheOutcome outcome) => outcome switch
    {
        CacheOutcome.Hit => "hit",
        CacheOutcome.Miss => "miss",
        CacheOutcome.RefreshHit => "refresh_hit",
        CacheOutcome.Stale => "stale",
        CacheOutcome.Error => "error",
        CacheOutcome.Pass => "pass",
        _ => "synthetic",
    };
}
