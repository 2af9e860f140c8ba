using System.Diagnostics;
using System.Runtime.CompilerServices;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.Fetching;
using EdgeCache.Observability;
using EdgeCache.Origins;
using EdgeCache.Purging;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;

namespace EdgeCache.Proxy;

/// <summary>
/// The viewer port's handler: validates the request, matches its behavior and dispatches it — unsafe methods to the
/// <see cref="PassThroughForwarder"/>, GET and HEAD to the <see cref="CacheLookup"/>, then the
/// <see cref="EntryResponder"/> for a hit or the <see cref="MissHandler"/> for the rest — and records how it was
/// answered (metrics, access log). Viewer input only ever selects a configured behavior and a validated path beneath
/// its origin.
/// </summary>
public sealed partial class EdgeProxy
{
    /// <summary>Answered on the viewer port for load-balancer and Route 53 health checks (liveness only).</summary>
    public const string ViewerHealthPath = "/.edge/healthz";

    private const int MaxVaryRetries = 3;

    private readonly BehaviorTable _behaviors;
    private readonly OriginRegistry _origins;
    private readonly ILogger<EdgeProxy> _logger;
    private readonly ILogger _accessLog;
    private readonly bool _accessLogEnabled;
    private readonly (Prometheus.Counter.Child Requests, Prometheus.Counter.Child Bytes, Prometheus.Histogram.Child Duration)[] _outcomeMetrics;
    private readonly Prometheus.Counter _responses;

    // By status code (Kestrel allows 100-999), each child made at the code's first response: no lookup after that.
    private readonly Prometheus.Counter.Child?[] _responsesByStatus = new Prometheus.Counter.Child?[1000];
    private readonly CacheStatusHeaders _trace;
    private readonly SyntheticResponses _synthetic;
    private readonly CacheLookup _lookup;
    private readonly EntryResponder _responder;
    private readonly PassThroughForwarder _forwarder;
    private readonly MissHandler _misses;

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
        _logger = loggerFactory.CreateLogger<EdgeProxy>();
        _accessLog = loggerFactory.CreateLogger("EdgeCache.AccessLog");
        _accessLogEnabled = options.Value.AccessLog.Enabled;
        // Label children resolved once: WithLabels on every request costs a lookup and an array.
        _outcomeMetrics = [.. Enum.GetValues<CacheOutcome>().Select(o =>
            (metrics.Requests.WithLabels(Label(o)), metrics.ResponseBytes.WithLabels(Label(o)), metrics.RequestDuration.WithLabels(Label(o))))];
        _responses = metrics.Responses;
        _trace = new CacheStatusHeaders(options);
        _synthetic = new SyntheticResponses(_trace);
        _lookup = new CacheLookup(store, disk, purges, time);
        _responder = new EntryResponder(_trace, _synthetic, time);
        _forwarder = new PassThroughForwarder(behaviors, store, disk, purges, metrics, _trace, _synthetic, time, options.Value.Cache.TargetedCacheControl);
        _misses = new MissHandler(coordinator, disk, _responder, _forwarder, _synthetic, _trace, time);
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
            state.Detail ??= ResponseDetail.ViewerGone;
        }
        catch (IncompleteBodyException ex)
        {
            state.Outcome = CacheOutcome.Error;
            state.Detail = ResponseDetail.IncompleteBody;
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
                await _synthetic.WriteErrorAsync(context, state, StatusCodes.Status502BadGateway, _trace.Detail(ResponseDetail.IncompleteBody)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            // Caught here rather than left to Kestrel (which answers 500 or aborts) so that the access log and the
            // outcome metric below say what the viewer got, not the status and outcome decided before serving failed.
            state.Outcome = CacheOutcome.Error;
            state.Detail = ResponseDetail.ServeFailed;
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
                context.Response.Headers["Cache-Status"] = _trace.Detail(ResponseDetail.ServeFailed).Value;
                context.Response.ContentLength = 0;
            }
        }
        finally
        {
            var (requests, bytes, duration) = _outcomeMetrics[(int)state.Outcome];
            var elapsed = Stopwatch.GetElapsedTime(started);
            requests.Inc();
            bytes.Inc(state.BodyBytes);
            duration.Observe(elapsed.TotalSeconds);
            ResponsesWithStatus(context.Response.StatusCode).Inc();
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
                    elapsed.TotalMilliseconds,
                    state.BehaviorIndex,
                    state.BehaviorIndex >= 0 ? _behaviors.All[state.BehaviorIndex].OriginId : null,
                    state.Collapsed,
                    state.Detail,
                    context.Connection.RemoteIpAddress?.ToString());
            }

            // Every use of the state (the body copies included) was awaited above.
            _states.Return(state);
        }
    }

    /// <summary>
    /// Validates the request, matches its behavior and dispatches it on its method. Not itself async: the part it hands
    /// the request to is the one that waits, so a miss does not suspend one state machine more.
    /// </summary>
    private ValueTask HandleAsync(HttpContext context, RequestState state)
    {
        var request = context.Request;
        var path = request.Path.Value;
        if (!RequestPathValidator.TryValidate(path, out var problem))
        {
            return new ValueTask(_synthetic.WriteAsync(context, state, StatusCodes.Status400BadRequest, problem!, ResponseDetail.BadRequest));
        }

        if (path == ViewerHealthPath && RequestMethod.IsGetOrHead(request.Method))
        {
            return new ValueTask(_synthetic.WriteAsync(context, state, StatusCodes.Status200OK, "ok", null));
        }

        ConnectionListedHeaders.Remove(request.Headers);
        var behavior = _behaviors.Match(path);
        state.BehaviorIndex = behavior.Index;
        if (!behavior.AllowedMethods.Contains(request.Method))
        {
            context.Response.Headers.Allow = behavior.AllowHeader;
            return new ValueTask(_synthetic.WriteAsync(context, state, StatusCodes.Status405MethodNotAllowed, $"method {request.Method} is not allowed for {behavior.Pattern}", ResponseDetail.MethodNotAllowed));
        }

        state.Behavior = behavior;
        state.Origin = _origins[behavior.OriginId];
        state.Path = path!;
        (state.KeyQuery, state.ForwardedQuery) = CacheKeyBuilder.Queries(behavior, request.QueryString);
        if (!RequestMethod.IsGetOrHead(request.Method))
        {
            return new ValueTask(_forwarder.ForwardUnsafeAsync(context, state));
        }

        state.RequestCacheControl = behavior.RespectViewerCacheControl ? RequestCacheControl(request.Headers) : CacheControl.Empty;
        state.WantedEncoding = behavior.Compress ? CacheKeyBuilder.NormalizeAcceptEncoding(request.Headers.AcceptEncoding) : "identity";
        return ServeCacheableAsync(context, state);
    }

    /// <summary>GET and HEAD: a fresh entry as a hit; a stale one while it revalidates, if allowed; otherwise through the miss handler.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ServeCacheableAsync(HttpContext context, RequestState state)
    {
        var requestCc = state.RequestCacheControl;
        for (var attempt = 0; attempt < MaxVaryRetries; attempt++)
        {
            var found = await _lookup.FindAsync(context, state).ConfigureAwait(false);
            if (found.Status == CacheLookupStatus.Fresh)
            {
                await _responder.ServeAsync(context, state, found.Entry!, CacheOutcome.Hit, null, EntryResponder.TtlSeconds(found.Entry!, found.Now)).ConfigureAwait(false);
                return;
            }

            if (found.Entry is { } stale && !requestCc.NoCache && CachePolicy.WithinStaleWhileRevalidate(stale, found.Now))
            {
                _misses.StartRefresh(context, state, stale);
                state.Detail = ResponseDetail.StaleWhileRevalidate;
                var status = _trace.Hit(EntryResponder.TtlSeconds(stale, found.Now)).WithDetail(ResponseDetail.StaleWhileRevalidate);
                await _responder.ServeAsync(context, state, stale, CacheOutcome.Stale, status).ConfigureAwait(false);
                return;
            }

            if (requestCc.OnlyIfCached)
            {
                await _synthetic.WriteAsync(context, state, StatusCodes.Status504GatewayTimeout, "only-if-cached: no stored response satisfies the request", ResponseDetail.OnlyIfCached).ConfigureAwait(false);
                return;
            }

            if (requestCc.NoStore)
            {
                state.Detail = ResponseDetail.RequestNoStore;
                await _forwarder.PassAsync(context, state, _trace.Forward(ForwardReason.Request).WithDetail(ResponseDetail.RequestNoStore)).ConfigureAwait(false);
                return;
            }

            if (await _misses.ServeAsync(context, state, found).ConfigureAwait(false))
            {
                return;
            }
        }

        await _forwarder.PassAsync(context, state, _trace.Forward(ForwardReason.VaryMiss).WithDetail(ResponseDetail.VaryRetries)).ConfigureAwait(false);
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

    private Prometheus.Counter.Child ResponsesWithStatus(int status)
    {
        if ((uint)status < (uint)_responsesByStatus.Length && _responsesByStatus[status] is { } known)
        {
            return known;
        }

        var child = _responses.WithLabels(status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if ((uint)status < (uint)_responsesByStatus.Length)
        {
            _responsesByStatus[status] = child;
        }

        return child;
    }

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
