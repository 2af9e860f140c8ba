using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.FastPath;
using EdgeCache.Observability;
using EdgeCache.Origins;
using EdgeCache.Purging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Fetching;

/// <summary>
/// Collapses concurrent misses for one key into one origin fetch and runs it: sends the origin request, decides on the
/// response with the <see cref="OriginResponsePolicy"/>, and publishes the outcome; a new body is then read by the
/// <see cref="BodyPump"/> into a <see cref="CachedBody"/> that every waiter reads as it arrives.
/// </summary>
public sealed partial class FetchCoordinator : IDisposable
{
    /// <summary>
    /// How far the origin is read ahead of the fastest viewer of a body that will not be stored (the read-ahead of
    /// <see cref="CachedBody.WaitForReadersAsync"/>): enough to keep a fast viewer's socket fed, little to hold for a stalled one.
    /// </summary>
    internal const int PassThroughReadAheadBytes = 1024 * 1024;

    private readonly ConcurrentDictionary<string, InFlightFetch> _inFlight = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly MemoryCacheStore _store;
    private readonly TimeProvider _time;
    private readonly EdgeCacheMetrics _metrics;
    private readonly ILogger<FetchCoordinator> _logger;
    private readonly CacheOptions _cacheOptions;
    private readonly PurgeLog _purges;
    private readonly DiskCacheStore _disk;
    private readonly MappedBodyAllocator _mappedBodies;
    private readonly string _via;
    private readonly OriginResponsePolicy _policy;
    private readonly BodyPump _pump;

    // Histogram children per origin, resolved once: WithLabels on every fetch costs a label array and a lookup.
    private readonly ConcurrentDictionary<string, (Prometheus.Histogram.Child Ok, Prometheus.Histogram.Child Error)> _fetchDurations = new(StringComparer.Ordinal);

    public FetchCoordinator(MemoryCacheStore store, DiskCacheStore disk, MappedBodyAllocator mappedBodies, PurgeLog purges, TimeProvider time, EdgeCacheMetrics metrics, IOptions<EdgeCacheOptions> options, ILogger<FetchCoordinator> logger)
    {
        _store = store;
        _disk = disk;
        _mappedBodies = mappedBodies;
        _purges = purges;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _cacheOptions = options.Value.Cache;
        _via = ViaHeader.For(options.Value.Node.Name);
        _policy = new OriginResponsePolicy(options);
        _pump = new BodyPump(store, disk, purges, metrics, _cacheOptions, time, logger, Forget, _shutdown.Token);
    }

    public int InFlightCount => _inFlight.Count;

    /// <summary>Joins the fetch under way for <paramref name="collapseKey"/>, or starts one with <paramref name="request"/>.</summary>
    public InFlightFetch GetOrStart(string collapseKey, FetchRequest request, out bool isLeader)
    {
        while (true)
        {
            if (_inFlight.TryGetValue(collapseKey, out var existing))
            {
                if (!existing.TryJoin())
                {
                    // Its body failed, or was given up (no viewer left for a response that is not stored): a new fetch
                    // replaces it.
                    _inFlight.TryRemove(new KeyValuePair<string, InFlightFetch>(collapseKey, existing));
                    continue;
                }

                isLeader = false;
                existing.AddWaiter();
                _metrics.CollapsedWaiters.Inc();
                return existing;
            }

            var fetch = new InFlightFetch(collapseKey, request) { Generation = _purges.Generation };
            if (_inFlight.TryAdd(collapseKey, fetch))
            {
                isLeader = true;
                // Not tied to the viewer (the leader only waits on it): it runs on the node's lifetime token, so the leader going away cannot
                // cancel it. Started inline rather than with Task.Run: it goes asynchronous at its first origin read anyway,
                // and a thread-pool hop per miss was measurable in bench/.
                fetch.Running = RunAsync(fetch);
                return fetch;
            }
        }
    }

    /// <summary>Refreshes an entry in the background (stale-while-revalidate): at most one refresh per key at a time.</summary>
    public void StartBackgroundRefresh(string collapseKey, FetchRequest request)
    {
        if (_inFlight.ContainsKey(collapseKey))
        {
            return;
        }

        var fetch = GetOrStart(collapseKey, request, out var isLeader);
        if (isLeader)
        {
            fetch.AbandonByLeader();
        }

        // No viewer of its own: a refresh that is not stored is then given up, one that is stored completes.
        fetch.Leave();
    }

    /// <summary>
    /// Sends the origin request and publishes the outcome. The send is the one wait every fetch has, so it is awaited here
    /// and the response handled by <see cref="OnResponseAsync"/>, which completes synchronously unless it refreshes a
    /// large entry on disk: one async state machine per fetch instead of two.
    /// </summary>
    private async Task RunAsync(InFlightFetch fetch)
    {
        // A 304 publishes the stale entry's body: held until the fetch's viewers hold their own references to it. The
        // viewer that started the fetch holds one, so this cannot fail.
        var staleBody = fetch.Request.StaleEntry?.Body;
        if (staleBody is not null && !staleBody.TryAddReference())
        {
            staleBody = null;
        }

        FetchOutcome outcome;
        try
        {
            var request = fetch.Request;
            var origin = request.Origin;
            var stale = request.StaleEntry;
            var originRequest = new OriginRequest
            {
                Method = "GET",
                Path = request.Path,
                Query = request.ForwardedQuery,
                Headers = request.ForwardedHeaders,
                IfNoneMatch = stale?.ETag,
                IfModifiedSince = stale?.ETag is null ? stale?.LastModified : null,
            };

            var requestTime = _time.GetUtcNow();
            var started = Stopwatch.GetTimestamp();
            OriginResponse? response = null;
            FetchOutcome? failed = null;
            try
            {
                response = await origin.SendAsync(originRequest, _shutdown.Token).ConfigureAwait(false);
                if (response.StatusCode == StatusCodes.Status304NotModified && stale is not null && !NotModifiedMatch.Updates(stale, response.Headers))
                {
                    // The 304 names another representation than the one stored (RFC 9111 4.3.4): it refreshes nothing,
                    // and what the origin has now is asked for unconditionally.
                    LogNotModifiedMismatch(_logger, origin.Id, request.Path);
                    response.Dispose();
                    response = null;
                    requestTime = _time.GetUtcNow();
                    response = await origin.SendAsync(WithoutValidators(originRequest), _shutdown.Token).ConfigureAwait(false);
                }
            }
            catch (OriginException ex)
            {
                FetchDurations(origin.Id).Error.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                _metrics.OriginErrors.WithLabels(origin.Id, ex.Kind.Label()).Inc();
                LogOriginError(_logger, origin.Id, request.Path, ex.Kind, ex.Message);
                failed = new FetchOutcome.Failed(ex, ex.ViewerStatusCode);
            }

            if (response is null)
            {
                outcome = failed!;
            }
            else
            {
                FetchDurations(origin.Id).Ok.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
                outcome = await OnResponseAsync(fetch, response, requestTime).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            LogFetchFailed(_logger, fetch.Request.Origin.Id, fetch.Request.Path, ex);
            outcome = new FetchOutcome.Failed(ex, StatusCodes.Status502BadGateway);
        }

        fetch.SetOutcome(outcome);
        if (outcome is FetchOutcome.Shared { Revalidated: false } created)
        {
            // The reference a new body is created with: its viewers and its pump hold their own now.
            created.Entry.Body.ReleaseReference();
        }

        staleBody?.ReleaseReference();
        if (outcome is not FetchOutcome.Shared { Revalidated: false })
        {
            // A new body still arriving stays joinable until its pump ends (the pump removes it); everything else is done now.
            Forget(fetch);
        }
    }

    /// <summary>
    /// The origin's answer: a 304 refreshes the stale entry; a 5xx a stale copy stands in for, an unshareable response and
    /// a 206 are outcomes of their own; anything else becomes a new entry whose body the pump then reads in.
    /// </summary>
    private async ValueTask<FetchOutcome> OnResponseAsync(InFlightFetch fetch, OriginResponse response, DateTimeOffset requestTime)
    {
        var request = fetch.Request;
        var origin = request.Origin;
        var stale = request.StaleEntry;
        var responseTime = _time.GetUtcNow();
        var headers = response.Headers;
        if (CachePolicy.Find(headers, HeaderNames.Date).Count == 0)
        {
            // RFC 9110 6.6.1: a recipient with a clock adds Date when the origin did not.
            headers.Add(new(HeaderNames.Date, responseTime.ToString("R")));
        }

        // Before anything keeps the headers: a stored entry, a 304's refresh and a pass all relay the whole chain.
        ViaHeader.AppendTo(headers, _via);
        var cc = _policy.Directives(request.Behavior, headers);
        if (response.StatusCode == StatusCodes.Status304NotModified && stale is not null)
        {
            response.Dispose();
            return await RevalidatedAsync(fetch, stale, headers, cc, requestTime, responseTime).ConfigureAwait(false);
        }

        if (OriginResponsePolicy.StaleStandsIn(response.StatusCode, stale, request.RequestCacheControl, request.Behavior, responseTime))
        {
            response.Dispose();
            return new FetchOutcome.Failed(new OriginException(origin.Id, OriginErrorKind.Protocol, $"origin answered {response.StatusCode}"), response.StatusCode);
        }

        // A 206 to a Range the behavior forwards is stored as the piece it is (RFC 9111 3.3) when it fits in memory, and
        // judged as the representation it is part of; any other 206 is for the viewer that asked alone.
        var piece = response.StatusCode == StatusCodes.Status206PartialContent && response.ContentLength <= _cacheOptions.MaxObjectBytes
            ? PartialContent.Of(headers, response.ContentLength)
            : null;
        var representationStatus = piece is null ? response.StatusCode : StatusCodes.Status200OK;
        var requestHadAuthorization = request.Behavior.ForwardsAuthorization && request.RequestHeaders.ContainsKey(HeaderNames.Authorization);
        if ((OriginResponsePolicy.PassReason(request.Behavior, requestHadAuthorization, representationStatus, cc, headers)
            ?? UnkeyedForwarding.UnvariedReason(request.Behavior, request.ForwardedHeaders, headers)) is { } passReason)
        {
            return new FetchOutcome.Pass(response, passReason);
        }

        var encoding = ResponseCompression.CodingFor(request.Behavior, response.StatusCode, headers, response.ContentLength, cc, request.WantedEncoding);
        if (encoding is "br" or "gzip" && response.ContentLength is null)
        {
            // A body of unknown length is compressed only if it reaches the minimum: below it the coding's own framing
            // makes it larger. Its first bytes are read before deciding (and before the entry's headers are made).
            try
            {
                using var idle = new IdleTimeout(_time, origin.ReadTimeout, _shutdown.Token);
                var (prefix, length, ended) = await PrefixedReadStream.ReadPrefixAsync(response.Body, ResponseCompression.MinBytes, idle, origin.ReadTimeout).ConfigureAwait(false);
                response = new OriginResponse(
                    response.StatusCode,
                    headers,
                    ended ? length : null,
                    ended ? new MemoryStream(prefix, 0, length, writable: false) : new PrefixedReadStream(prefix, length, response.Body),
                    response);
                encoding = ended ? null : encoding;
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException && !_shutdown.IsCancellationRequested)
            {
                response.Dispose();
                var kind = ex is OperationCanceledException ? OriginErrorKind.Timeout : OriginErrorKind.Protocol;
                _metrics.OriginErrors.WithLabels(origin.Id, "body").Inc();
                LogBodyFailed(_logger, origin.Id, request.Path, 0, ex.Message);
                var error = new OriginException(origin.Id, kind, ex.Message, ex);
                return new FetchOutcome.Failed(error, error.ViewerStatusCode);
            }
        }

        (headers, var varyNames, var etag) = OriginResponsePolicy.Representation(headers, encoding);
        var storableReason = CachePolicy.UnstorableReason(representationStatus, request.RequestCacheControl, cc, headers);
        var contentLength = encoding is null or "identity" ? response.ContentLength : null;
        var secondaryKey = CacheKeyBuilder.SecondaryKey(varyNames, request.RequestHeaders);
        LargeWrite? large = null;
        if (response.ContentLength > _cacheOptions.MaxObjectBytes)
        {
            if (storableReason is not null || !_disk.CanStoreLarge)
            {
                // Too large for memory and nowhere else to put it: this viewer streams it, waiters fetch for themselves.
                return new FetchOutcome.Pass(response, "too-large");
            }

            try
            {
                large = _disk.BeginLarge(request.Key, secondaryKey, fetch.Generation);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _disk.FailLarge(null, ex);
                return new FetchOutcome.Pass(response, "too-large");
            }
        }

        // Large objects stream into their disk-tier file and every viewer reads them from there.
        var body = large is null ? new CachedBody(contentLength, _mappedBodies) : CachedBody.ToFile(large.Handle);
        var entry = _policy.NewEntry(request.Behavior, response.StatusCode, headers, body, contentLength, cc, varyNames, secondaryKey, etag, requestTime, responseTime);

        // Inline like RunAsync: a body already buffered by the origin connection is pumped before the outcome is
        // published (the leader then serves a complete body in one write); anything longer goes asynchronous.
        var shared = new FetchOutcome.Shared(entry, revalidated: false, storable: storableReason is null, originStatus: response.StatusCode) { UnstorableReason = storableReason };
        _ = _pump.PumpAsync(fetch, response, entry, encoding, storableReason is null, large, shared);
        return shared;
    }

    /// <summary>A 304 for the stale entry: its refreshed copy is stored in its place, unless a purge since the fetch began covers it.</summary>
    private async ValueTask<FetchOutcome> RevalidatedAsync(InFlightFetch fetch, CacheEntry stale, List<KeyValuePair<string, StringValues>> notModified, CacheControl directives, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var request = fetch.Request;
        var refreshed = _policy.Refresh(request.Behavior, stale, notModified, directives, requestTime, responseTime);
        var revalidated = new FetchOutcome.Shared(refreshed, revalidated: true, storable: true, originStatus: 304);
        if (!_purges.PurgedSince(fetch.Generation, request.Path))
        {
            if (stale.Body.IsFileBacked)
            {
                // Large entries live on the disk tier only: their stored metadata is refreshed there.
                await _disk.RefreshLargeAsync(request.Key, stale, refreshed, _shutdown.Token).ConfigureAwait(false);
                revalidated.MarkStored();
            }
            else if (_store.Replace(request.Key.Primary, stale, refreshed))
            {
                _disk.EnqueueWrite(request.Key, refreshed);
                revalidated.MarkStored();
            }
        }

        return revalidated;
    }

    private static OriginRequest WithoutValidators(OriginRequest request) => new()
    {
        Method = request.Method,
        Path = request.Path,
        Query = request.Query,
        Headers = request.Headers,
    };

    private (Prometheus.Histogram.Child Ok, Prometheus.Histogram.Child Error) FetchDurations(string originId) =>
        _fetchDurations.GetOrAdd(originId, static (id, histogram) => (histogram.WithLabels(id, "ok"), histogram.WithLabels(id, "error")), _metrics.OriginFetchDuration);

    /// <summary>The fetch is over (or its body is): a new miss for its key starts a fetch of its own.</summary>
    private void Forget(InFlightFetch fetch) => _inFlight.TryRemove(new KeyValuePair<string, InFlightFetch>(fetch.CollapseKey, fetch));

    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
    }
}
