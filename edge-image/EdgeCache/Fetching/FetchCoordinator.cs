using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Compression;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.Observability;
using EdgeCache.Origins;
using EdgeCache.Purging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Fetching;

/// <summary>
/// Collapses concurrent misses for one key into one origin fetch, builds the cache entry from the origin's response,
/// streams its body into a <see cref="CachedBody"/> that every waiter reads as it arrives, and stores it when complete.
/// </summary>
public sealed partial class FetchCoordinator : IDisposable
{
    private const int CompressMinBytes = 1024;
    private const int CompressMaxBytes = 10 * 1024 * 1024;
    private const int MaxSharedCacheControls = 1024;

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

    // Parsed response Cache-Control values by their text. An origin sends a handful of distinct values across its
    // objects, and each stored entry otherwise kept its own parsed copy for as long as it is cached (the directives are
    // immutable once parsed). Bounded, for an origin that puts something different in every response.
    private readonly ConcurrentDictionary<string, CacheControl> _responseCacheControls = new(StringComparer.Ordinal);

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
                    // Its body was given up (no viewer left for a response that is not stored): a new fetch replaces it.
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
            _inFlight.TryRemove(new KeyValuePair<string, InFlightFetch>(fetch.CollapseKey, fetch));
        }
    }

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

        var cc = ParseResponseCacheControl(CachePolicy.Find(headers, HeaderNames.CacheControl));

        if (response.StatusCode == StatusCodes.Status304NotModified && stale is not null)
        {
            response.Dispose();
            var refreshed = Refresh(request, stale, headers, requestTime, responseTime);
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

        if (response.StatusCode >= 500 && stale is not null
            && CachePolicy.WithinStaleIfError(stale, request.RequestCacheControl, request.Behavior, responseTime))
        {
            response.Dispose();
            return new FetchOutcome.Failed(new OriginException(origin.Id, OriginErrorKind.Protocol, $"origin answered {response.StatusCode}"), response.StatusCode);
        }

        var unshareable = CachePolicy.UnshareableReason(request.Behavior, request.Behavior.ForwardsAuthorization && request.RequestHeaders.ContainsKey(HeaderNames.Authorization), cc, headers);
        if (unshareable is not null)
        {
            return new FetchOutcome.Pass(response, unshareable);
        }

        if (response.StatusCode == StatusCodes.Status206PartialContent)
        {
            return new FetchOutcome.Pass(response, "partial");
        }

        var encoding = ChooseEncoding(request, response, cc);
        if (encoding is "br" or "gzip" && response.ContentLength is null)
        {
            // A body of unknown length is compressed only if it reaches the minimum: below it the coding's own framing
            // makes it larger. Its first bytes are read before deciding (and before the entry's headers are made).
            try
            {
                using var idle = new IdleTimeout(_time, origin.ReadTimeout, _shutdown.Token);
                var (prefix, length, ended) = await PrefixedReadStream.ReadPrefixAsync(response.Body, CompressMinBytes, idle, origin.ReadTimeout).ConfigureAwait(false);
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

        var varyNames = CacheKeyBuilder.ParseVary(CachePolicy.Find(headers, HeaderNames.Vary));
        var etag = CachePolicy.Find(headers, HeaderNames.ETag) is { Count: > 0 } etagValues ? etagValues[0] : null;
        if (encoding is not null)
        {
            headers = Transform(headers, encoding, etag);
            if (!varyNames.Contains(CacheKeyBuilder.AcceptEncoding))
            {
                varyNames = [.. varyNames.Append(CacheKeyBuilder.AcceptEncoding).Order(StringComparer.Ordinal)];
            }
        }

        else
        {
            // A coding the origin chose although asked for identity: stored as sent, negotiated per viewer when served.
            ContentCodings.AddVary(headers);
        }

        var storableReason = CachePolicy.UnstorableReason(response.StatusCode, request.RequestCacheControl, cc, headers);
        var contentLength = encoding is null or "identity" ? response.ContentLength : null;
        var secondaryKey = CacheKeyBuilder.SecondaryKey(varyNames, request.RequestHeaders);
        DiskCacheStore.LargeWrite? large = null;
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

        var entry = new CacheEntry
        {
            StatusCode = response.StatusCode,
            Headers = StripAge(headers),
            // Large objects stream into their disk-tier file and every viewer reads them from there.
            Body = large is null ? new CachedBody(contentLength, _mappedBodies) : CachedBody.ToFile(large.Handle),
            ContentLength = contentLength,
            RequestTime = requestTime,
            ResponseTime = responseTime,
            CorrectedInitialAge = CachePolicy.CorrectedInitialAge(headers, requestTime, responseTime),
            FreshnessLifetime = CachePolicy.FreshnessLifetime(request.Behavior, response.StatusCode, cc, headers, responseTime, _cacheOptions.HeuristicFraction),
            CacheControl = cc,
            VaryNames = varyNames,
            SecondaryKey = secondaryKey,
            ETag = etag,
            LastModified = CachePolicy.ParseDate(CachePolicy.Find(headers, HeaderNames.LastModified)),
        };

        // Inline like RunAsync: a body already buffered by the origin connection is pumped before the outcome is
        // published (the leader then serves a complete body in one write); anything longer goes asynchronous.
        var shared = new FetchOutcome.Shared(entry, revalidated: false, storable: storableReason is null, originStatus: response.StatusCode);
        _ = PumpAsync(fetch, response, entry, encoding, storableReason is null, large, shared);
        return shared;
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

    /// <summary>
    /// Reads the origin body into the entry (compressing if asked), then stores it if it arrived whole. A body that will
    /// be stored is read at the origin's pace, even if its only viewer stalls or leaves: the cache needs it whole, and the
    /// stalled viewer is cut off by its own send timeout. One that will not be stored is read only
    /// <see cref="PassThroughReadAheadBytes"/> ahead of its fastest viewer, and given up when no viewer is left.
    /// </summary>
    private async Task PumpAsync(InFlightFetch fetch, OriginResponse response, CacheEntry entry, string? encoding, bool storable, DiskCacheStore.LargeWrite? large, FetchOutcome.Shared outcome)
    {
        var body = entry.Body;
        // The pump's own reference (CachedBody's remarks): taken while the fetch still holds the one the body was created with.
        var held = body.TryAddReference();
        Debug.Assert(held, "a new body was sealed before its pump started");
        var origin = fetch.Request.Origin;
        byte[]? scratch = null;
        Stream? compressor = null;
        try
        {
            if (encoding is "br" or "gzip")
            {
                var sink = new CachedBodyWriteStream(body);
                compressor = encoding == "br"
                    ? new BrotliStream(sink, CompressionLevel.Fastest, leaveOpen: false)
                    : new GZipStream(sink, CompressionLevel.Fastest, leaveOpen: false);
                scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
            }

            using var idle = new IdleTimeout(_time, origin.ReadTimeout, _shutdown.Token);
            long received = 0;
            var tooLarge = false;
            while (compressor is not null || response.ContentLength is not { } length || received < length)
            {
                // With a Content-Length the loop ends at the last byte: one more read would first take a fresh segment
                // (GetWriteMemory) only to learn the body has ended. Without one, it reads until the origin's end.
                idle.Restart(origin.ReadTimeout);
                var buffer = compressor is null ? body.GetWriteMemory() : scratch.AsMemory();
                int read;
                try
                {
                    read = await response.Body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (!_shutdown.IsCancellationRequested)
                {
                    throw new OriginException(origin.Id, OriginErrorKind.Timeout, $"no body bytes for {origin.ReadTimeout.TotalMilliseconds:0} ms", ex);
                }

                if (body.IsFileBacked)
                {
                    // The read may have completed inline on a socket I/O thread (listen.inlineIo); the file write (and the
                    // fsync after the last read) block, so they run on the thread pool instead.
                    await Task.Yield();
                }

                if (read == 0)
                {
                    break;
                }

                received += read;
                if (compressor is null)
                {
                    body.Advance(read);
                }
                else
                {
                    await compressor.WriteAsync(scratch.AsMemory(0, read), idle.Token).ConfigureAwait(false);
                    // Flush so waiters get compressed bytes as the origin's arrive, not at the end.
                    await compressor.FlushAsync(idle.Token).ConfigureAwait(false);
                }

                if (!body.IsFileBacked && body.Length > _cacheOptions.MaxObjectBytes)
                {
                    // A response of unknown length (chunked, or compressed here) outgrew the memory tier's object limit.
                    // Stored only if it goes to the disk tier as a large entry; otherwise it keeps streaming to the viewers
                    // already reading, from a file if one could be opened. Tried once: tooLarge is then set or not.
                    if (!tooLarge)
                    {
                        await Task.Yield();
                        large = SpillToFile(fetch, entry, storable);
                        tooLarge = large is null;
                    }

                    if (!body.IsFileBacked && body.Length > _cacheOptions.MemoryBytes)
                    {
                        throw new IncompleteBodyException($"response of unknown length grew past the memory tier ({_cacheOptions.MemoryBytes} bytes) and no file could take it");
                    }
                }

                if (!storable || tooLarge)
                {
                    // The read timeout is for the origin's silence, not for a wait on viewers: off while waiting.
                    idle.Restart(Timeout.InfiniteTimeSpan);
                    if (!await body.WaitForReadersAsync(PassThroughReadAheadBytes, _shutdown.Token).ConfigureAwait(false))
                    {
                        // Not stored, and no viewer holds it any more: nobody will read another byte of it.
                        body.Fail(new IncompleteBodyException("no viewer is reading this response any more and it is not stored"));
                        LogBodyAbandoned(_logger, origin.Id, fetch.Request.Path, received);
                        return;
                    }
                }
            }

            if (response.ContentLength is { } expected && received != expected)
            {
                throw new IncompleteBodyException($"origin sent {received} of {expected} bytes");
            }

            if (compressor is not null)
            {
                await compressor.DisposeAsync().ConfigureAwait(false);
                compressor = null;
            }

            body.TrimExcess();

            // Store before completing: a viewer that has read the whole body and asks again at once must find the entry.
            var store = storable && !tooLarge && !_purges.PurgedSince(fetch.Generation, fetch.Request.Path);
            if (large is not null)
            {
                // Large objects live on the disk tier only; commit (trailer, fsync, rename) before waking readers.
                await _disk.CommitLargeAsync(large, entry).ConfigureAwait(false);
                large = null;
                store = false;
            }
            else if (store)
            {
                // Checked again under the store's lock: a purge that lands from here on must not find the entry back.
                store = _store.Store(fetch.Request.Key, entry, _purges, fetch.Generation);
            }

            if (store)
            {
                // Before Complete: a viewer that sees the body complete also sees whether it was stored (Cache-Status).
                outcome.MarkStored();
            }

            _inFlight.TryRemove(new KeyValuePair<string, InFlightFetch>(fetch.CollapseKey, fetch));
            body.Complete();
            if (store)
            {
                _disk.EnqueueWrite(fetch.Request.Key, entry);
            }
        }
        catch (BodyStoreException ex)
        {
            // The disk failed, not the origin: the tier degrades (log, metric) and later large responses pass through.
            // A spill file in $TMPDIR on a node without a disk tier has no tier to degrade: it is logged. Either way the
            // viewers already reading this body are cut off rather than given a short one as complete.
            if (large is null && !_disk.Enabled)
            {
                LogSpillWriteFailed(_logger, origin.Id, fetch.Request.Path, ex.Message);
            }
            else
            {
                _disk.FailLarge(large, ex);
            }

            body.Fail(ex);
        }
        catch (Exception ex)
        {
            if (large is not null)
            {
                DiskCacheStore.AbandonLarge(large);
            }

            body.Fail(ex);
            _metrics.OriginErrors.WithLabels(origin.Id, "body").Inc();
            LogBodyFailed(_logger, origin.Id, fetch.Request.Path, body.Length, ex.Message);
        }
        finally
        {
            if (compressor is not null)
            {
                try
                {
                    await compressor.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The body already failed; the compressor's trailer has nowhere useful to go.
                }
            }

            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            response.Dispose();
            _inFlight.TryRemove(new KeyValuePair<string, InFlightFetch>(fetch.CollapseKey, fetch));
            body.ReleaseReference();
        }
    }

    /// <summary>
    /// Moves a body of unknown length that outgrew memory to a file: a large entry on the disk tier when it may be stored
    /// there (then it is committed like any large object), otherwise a spill file that goes when its readers are done.
    /// Returns the large write, or null when the body will not be stored. Falls back to memory (bounded by the memory
    /// tier) only if no file can be opened.
    /// </summary>
    private DiskCacheStore.LargeWrite? SpillToFile(InFlightFetch fetch, CacheEntry entry, bool storable)
    {
        if (storable && _disk.CanStoreLarge)
        {
            DiskCacheStore.LargeWrite? large = null;
            try
            {
                large = _disk.BeginLarge(fetch.Request.Key, entry.SecondaryKey, fetch.Generation);
                entry.Body.SpillToFile(large.Handle);
                return large;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // As when a large body with a Content-Length cannot start: the disk tier degrades (BodyStoreException is
                // an IOException, for a copy that failed part-way). The body stays in memory.
                _disk.FailLarge(large, ex);
                LogSpillFailed(_logger, fetch.Request.Origin.Id, fetch.Request.Path, ex.Message);
                return null;
            }
        }

        SafeFileHandle? spill = null;
        try
        {
            spill = _disk.OpenSpillFile();
            entry.Body.SpillToFile(spill);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            spill?.Dispose();
            LogSpillFailed(_logger, fetch.Request.Origin.Id, fetch.Request.Path, ex.Message);
        }

        return null;
    }

    /// <summary>An origin's Cache-Control, parsed once per distinct text and shared by the entries that carry it.</summary>
    private CacheControl ParseResponseCacheControl(StringValues values)
    {
        if (values.Count != 1 || values[0] is not { } text)
        {
            return CacheControl.Parse(values);
        }

        if (_responseCacheControls.TryGetValue(text, out var shared))
        {
            return shared;
        }

        var parsed = CacheControl.Parse(values);
        // The count is read without a lock: a few over the bound under a race is harmless.
        return _responseCacheControls.Count < MaxSharedCacheControls ? _responseCacheControls.GetOrAdd(text, parsed) : parsed;
    }

    /// <summary>RFC 9111 4.3.4: update the stored headers from a 304, keeping the representation's own metadata.</summary>
    private CacheEntry Refresh(FetchRequest request, CacheEntry stale, List<KeyValuePair<string, StringValues>> notModified, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var merged = new List<KeyValuePair<string, StringValues>>(stale.Headers.Count + notModified.Count);
        var replaced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, _) in notModified)
        {
            if (!IsRepresentationMetadata(name))
            {
                replaced.Add(name);
            }
        }

        foreach (var header in stale.Headers)
        {
            if (!replaced.Contains(header.Key))
            {
                merged.Add(header);
            }
        }

        foreach (var header in notModified)
        {
            if (replaced.Contains(header.Key) && !header.Key.Equals(HeaderNames.Age, StringComparison.OrdinalIgnoreCase))
            {
                merged.Add(header);
            }
        }

        var cc = ParseResponseCacheControl(CachePolicy.Find(merged, HeaderNames.CacheControl));
        return new CacheEntry
        {
            StatusCode = stale.StatusCode,
            Headers = merged,
            Body = stale.Body,
            ContentLength = stale.ContentLength,
            RequestTime = requestTime,
            ResponseTime = responseTime,
            CorrectedInitialAge = CachePolicy.CorrectedInitialAge(notModified, requestTime, responseTime),
            FreshnessLifetime = CachePolicy.FreshnessLifetime(request.Behavior, stale.StatusCode, cc, merged, responseTime, _cacheOptions.HeuristicFraction),
            CacheControl = cc,
            VaryNames = stale.VaryNames,
            SecondaryKey = stale.SecondaryKey,
            ETag = stale.ETag,
            LastModified = CachePolicy.ParseDate(CachePolicy.Find(merged, HeaderNames.LastModified)) ?? stale.LastModified,
        };
    }

    private static bool IsRepresentationMetadata(string name) =>
        name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentRange, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ContentType, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.ETag, StringComparison.OrdinalIgnoreCase)
        || name.Equals(HeaderNames.Vary, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The coding to store this response in: null when the behavior does not compress or the response is not eligible
    /// (then one variant serves every viewer), otherwise the leader's wanted coding, recorded with Vary: Accept-Encoding.
    /// </summary>
    private static string? ChooseEncoding(FetchRequest request, OriginResponse response, CacheControl cc)
    {
        if (!request.Behavior.Compress || response.StatusCode != StatusCodes.Status200OK || cc.NoTransform)
        {
            return null;
        }

        if (CachePolicy.Find(response.Headers, HeaderNames.ContentEncoding) is { Count: > 0 } ce && !ce.ToString().Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (response.ContentLength is < CompressMinBytes or > CompressMaxBytes)
        {
            return null;
        }

        return IsCompressible(CachePolicy.Find(response.Headers, HeaderNames.ContentType)) ? request.WantedEncoding : null;
    }

    internal static bool IsCompressible(StringValues contentType)
    {
        if (contentType.Count == 0 || contentType[0] is not { } value)
        {
            return false;
        }

        var semi = value.IndexOf(';', StringComparison.Ordinal);
        var media = (semi < 0 ? value : value[..semi]).Trim().ToLowerInvariant();
        return media.StartsWith("text/", StringComparison.Ordinal)
            || media is "application/javascript" or "application/x-javascript" or "application/json" or "application/xml"
                or "image/svg+xml" or "application/xhtml+xml" or "application/rss+xml" or "application/atom+xml"
                or "application/manifest+json" or "application/ld+json" or "application/wasm"
            || media.EndsWith("+json", StringComparison.Ordinal)
            || media.EndsWith("+xml", StringComparison.Ordinal);
    }

    private static List<KeyValuePair<string, StringValues>> Transform(List<KeyValuePair<string, StringValues>> headers, string encoding, string? etag)
    {
        var result = new List<KeyValuePair<string, StringValues>>(headers.Count + 2);
        var varyDone = false;
        foreach (var (name, value) in headers)
        {
            if (name.Equals(HeaderNames.Vary, StringComparison.OrdinalIgnoreCase))
            {
                varyDone = true;
                var names = CacheKeyBuilder.ParseVary(value);
                result.Add(new(name, names.Contains(CacheKeyBuilder.AcceptEncoding) ? value : new StringValues(value.ToString() + ", Accept-Encoding")));
            }
            else if (name.Equals(HeaderNames.ETag, StringComparison.OrdinalIgnoreCase) && encoding != "identity" && etag is not null && !etag.StartsWith("W/", StringComparison.Ordinal))
            {
                // A compressed representation is not byte-identical to the origin's: its validator is weak (as nginx does).
                result.Add(new(name, "W/" + etag));
            }
            else if (!name.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase))
            {
                result.Add(new(name, value));
            }
        }

        if (!varyDone)
        {
            result.Add(new(HeaderNames.Vary, "Accept-Encoding"));
        }

        if (encoding != "identity")
        {
            result.Add(new(HeaderNames.ContentEncoding, encoding));
        }

        return result;
    }

    /// <summary>
    /// The headers an entry keeps: without Age (the node computes its own), in an array of their exact number rather
    /// than the list they were read into, which would keep its spare capacity and itself for as long as the entry is cached.
    /// </summary>
    private static KeyValuePair<string, StringValues>[] StripAge(List<KeyValuePair<string, StringValues>> headers)
    {
        headers.RemoveAll(h => h.Key.Equals(HeaderNames.Age, StringComparison.OrdinalIgnoreCase));
        return [.. headers];
    }

    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
    }
}
