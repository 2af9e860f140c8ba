using System.Net.Sockets;
using Amazon.Runtime;
using EdgeCache.Admin;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.InvalidationLog;
using EdgeCache.Purging;
using Microsoft.Extensions.Options;

namespace EdgeCache.Invalidation;

/// <summary>
/// Follows the fleet's invalidation log in the control bucket. It polls the head object with If-None-Match every
/// <c>invalidation.pollSeconds</c> and lists new records only when the head changed (so an idle fleet costs one
/// conditional GET per node per interval), applies each record as the admin <c>/purge</c> does (both tiers, queued disk
/// writes and fetches under way), saves its <see cref="FollowerState"/> and then acks the record. Started as a hosted
/// service after the disk tier and before Kestrel, it catches up before the node answers viewers, for at most
/// <c>invalidation.startTimeoutSeconds</c>: after that the node serves anyway (availability first) and reports its lag.
/// </summary>
public sealed partial class InvalidationFollower : IHostedService, IDisposable
{
    /// <summary>Listed even when the head is unchanged this often, for a record whose writer died before its head write.</summary>
    internal static readonly TimeSpan ResyncInterval = TimeSpan.FromMinutes(5);

    /// <summary>Reading the log (head, list, records), as opposed to writing acks and heartbeats.</summary>
    private const string LogChannel = "log";

    /// <summary>While the control bucket stays unreachable, the warning is repeated this often, not at every poll.</summary>
    private static readonly TimeSpan UnreachableLogInterval = TimeSpan.FromMinutes(1);

    private readonly InvalidationOptions _options;
    private readonly ControlBucket _bucket;
    private readonly PurgeService _purges;
    private readonly DiskCacheStore _disk;
    private readonly FollowerStateStore _store;
    private readonly InvalidationMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<InvalidationFollower> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _statusLock = new();

    private FollowerState _state = new(DateTimeOffset.UnixEpoch);
    private string? _etag;
    private bool _dirty = true;
    private DateTimeOffset _lastListAt;
    private DateTimeOffset _startedAt;
    private DateTimeOffset? _savedSyncedAt;
    private readonly Dictionary<string, (DateTimeOffset Since, DateTimeOffset Logged)> _failing = new(StringComparer.Ordinal);
    private bool _caughtUpAtStart;
    private string? _publishedId;
    private Task _polling = Task.CompletedTask;
    private Task _heartbeats = Task.CompletedTask;

    // Read by /readyz, /metrics and the heartbeat; written by the poll loop under _statusLock.
    // _logReadable: the last attempt to read the log worked (false until the first one has).
    private bool _logReadable;
    private string? _lastAppliedId;
    private DateTimeOffset? _lastSyncedAt;
    private int _pendingAcks;

    public InvalidationFollower(IOptions<EdgeCacheOptions> options, ControlBucket bucket, PurgeService purges, DiskCacheStore disk, InvalidationMetrics metrics, TimeProvider time, ILogger<InvalidationFollower> logger)
    {
        var edge = options.Value;
        _options = edge.Invalidation ?? throw new InvalidOperationException("invalidation is not configured");
        Node = _options.NodeId ?? Environment.MachineName;
        Region = edge.Node.Region!;
        _bucket = bucket;
        _purges = purges;
        _disk = disk;
        _store = new FollowerStateStore(edge.Cache.Disk.Directory);
        _metrics = metrics;
        _time = time;
        _logger = logger;
        metrics.Registry.AddBeforeCollectCallback(PublishMetrics);
    }

    public string Node { get; }

    public string Region { get; }

    private TimeSpan PollInterval => TimeSpan.FromSeconds(_options.PollSeconds);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _startedAt = _time.GetUtcNow();
        _state = await LoadStateAsync(cancellationToken).ConfigureAwait(false);
        SetStatus();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.StartTimeoutSeconds), _time);
        using var start = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _stopping.Token);
        _caughtUpAtStart = await CatchUpAsync(start.Token).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (_caughtUpAtStart)
        {
            LogCaughtUp(_logger, _lastAppliedId ?? "(none)", _bucket.Bucket);
        }
        else
        {
            LogStartedBehind(_logger, _options.StartTimeoutSeconds, _bucket.Bucket, LagSeconds());
        }

        _polling = Task.Run(() => PollLoopAsync(_stopping.Token), CancellationToken.None);
        _heartbeats = Task.Run(() => HeartbeatLoopAsync(_stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_polling, _heartbeats).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's grace period ran out; the state on disk is the last one saved.
        }
    }

    public void Dispose() => _stopping.Dispose();

    public InvalidationStatus Status()
    {
        lock (_statusLock)
        {
            return new InvalidationStatus(
                Node,
                Region,
                _lastAppliedId,
                InvalidationId.TryGetTime(_lastAppliedId, out var at) ? at : null,
                _lastSyncedAt,
                Math.Round(LagSeconds(), 3),
                _logReadable,
                _caughtUpAtStart,
                _pendingAcks);
        }
    }

    private double LagSeconds()
    {
        lock (_statusLock)
        {
            return Math.Max(0, (_time.GetUtcNow() - (_lastSyncedAt ?? _startedAt)).TotalSeconds);
        }
    }

    private async Task<FollowerState> LoadStateAsync(CancellationToken cancellationToken)
    {
        var (state, problem) = await _store.LoadAsync(cancellationToken).ConfigureAwait(false);
        if (state is not null)
        {
            LogStateLoaded(_logger, state.Cursor ?? "(none)", state.Handled.Count, _store.Path!);
            return state;
        }

        if (problem is not null)
        {
            LogStateUnreadable(_logger, _store.Path!, problem);
        }

        // Nothing says what was applied: everything made since the oldest object this node could serve must be. Without
        // a disk tier (or with an empty one) that is nothing from before this start.
        var followFrom = _disk.Enabled && _disk.Count > 0 && DiskTierAge.OldestWrite(_store.Path is { } path ? System.IO.Path.GetDirectoryName(path)! : "") is { } oldest
            ? oldest
            : _startedAt;
        LogFollowingFrom(_logger, followFrom);
        return new FollowerState(followFrom) { LastSyncedAt = null };
    }

    /// <summary>Tries until the log is read with nothing left to apply, or <paramref name="cancellationToken"/> ends the wait.</summary>
    private async Task<bool> CatchUpAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await PollOnceAsync(force: true, cancellationToken).ConfigureAwait(false);
                if (!_dirty)
                {
                    return true;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            try
            {
                await Task.Delay(PollInterval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    private async Task PollLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await FlushAcksAsync(stopping).ConfigureAwait(false);
                await SaveIfStaleAsync(_time.GetUtcNow(), stopping).ConfigureAwait(false);
                await Task.Delay(PollInterval, _time, stopping).ConfigureAwait(false);
                await PollOnceAsync(force: false, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Never let the loop die: the node keeps serving and keeps trying.
                LogPollFailed(_logger, ex);
            }
        }
    }

    /// <summary>One poll: the head (conditional), and a listing when it changed, work is left over, or a resync is due.</summary>
    internal async Task PollOnceAsync(bool force, CancellationToken cancellationToken)
    {
        var pollStart = _time.GetUtcNow();
        var operation = "head";
        try
        {
            var head = await _bucket.GetHeadAsync(_etag, cancellationToken).ConfigureAwait(false);
            if (head.Changed)
            {
                _etag = head.ETag;
            }

            if (force || head.Changed || _dirty || pollStart - _lastListAt >= ResyncInterval)
            {
                operation = "list";
                _dirty = true;
                _lastListAt = pollStart;
                await SyncAsync(op => operation = op, cancellationToken).ConfigureAwait(false);
                _dirty = false;
            }

            lock (_statusLock)
            {
                _lastSyncedAt = pollStart;
                _logReadable = true;
            }

            _state.LastSyncedAt = pollStart;
            Succeeded(LogChannel);
        }
        catch (Exception ex) when (IsControlBucketFailure(ex, cancellationToken))
        {
            lock (_statusLock)
            {
                _logReadable = false;
            }

            Failed(LogChannel, operation, ex);
        }
    }

    private async Task SyncAsync(Action<string> step, CancellationToken cancellationToken)
    {
        var ids = await _bucket.ListRecordIdsAsync(_state.ListStartAfter, cancellationToken).ConfigureAwait(false);
        foreach (var id in ids)
        {
            if (_state.IsHandled(id))
            {
                continue;
            }

            step("get");
            var bytes = await _bucket.GetRecordAsync(id, cancellationToken).ConfigureAwait(false);
            step("list");
            if (bytes is null)
            {
                // Listed, then gone: expired by the bucket's lifecycle, far older than anything it could remove here.
                _state.MarkHandled(id, applied: false, _time.GetUtcNow());
                continue;
            }

            await ApplyAsync(id, bytes, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ApplyAsync(string id, byte[] bytes, CancellationToken cancellationToken)
    {
        if (!InvalidationRecord.TryParse(bytes, id, out var record, out var error))
        {
            await RejectAsync(id, "malformed", error, cancellationToken).ConfigureAwait(false);
            return;
        }

        var target = record.Target;
        var request = new PurgeRequest { Paths = target.Paths?.ToList(), Prefix = target.Prefix, Pattern = target.Pattern, All = target.All };
        if (PurgeMatcher.TryCreate(request, out var problem) is not { } matcher)
        {
            await RejectAsync(id, "invalid_target", problem!, cancellationToken).ConfigureAwait(false);
            return;
        }

        var result = _purges.Purge(matcher);
        var now = _time.GetUtcNow();
        _state.MarkHandled(id, applied: true, now, result.Removed);
        _metrics.Applied.Inc();
        LogApplied(_logger, id, target.Description, record.RequestedBy ?? "(unknown)", result.Removed, (now - record.CreatedAt).TotalSeconds);
        SetStatus();
        await SaveAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RejectAsync(string id, string reason, string error, CancellationToken cancellationToken)
    {
        // Skipped whole and remembered as handled: a record that cannot be applied now never can, and the ones after
        // it must not wait for it.
        _state.MarkHandled(id, applied: false, _time.GetUtcNow());
        _metrics.Rejected.WithLabels(reason).Inc();
        LogRejected(_logger, id, error);
        await SaveAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushAcksAsync(CancellationToken cancellationToken)
    {
        var acked = false;
        try
        {
            foreach (var pending in _state.PendingAcks.ToArray())
            {
                await _bucket.PutAckAsync(pending.Id, new NodeAck { Node = Node, Region = Region, AppliedAt = pending.AppliedAt, Removed = pending.Removed }, cancellationToken).ConfigureAwait(false);
                _state.Acked(pending.Id);
                acked = true;
            }
        }
        catch (Exception ex) when (IsControlBucketFailure(ex, cancellationToken))
        {
            // Kept in the state: written at the next poll, or after a restart.
            Failed("ack", "ack", ex);
        }

        if (acked)
        {
            Succeeded("ack");
            SetStatus();
            await SaveAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken stopping)
    {
        // A fixed rate, not a pause after each write: a slow write must not stretch the period past what edgecdn
        // counts as alive.
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.HeartbeatSeconds), _time);
        do
        {
            var heartbeat = new NodeHeartbeat
            {
                Node = Node,
                Region = Region,
                Time = _time.GetUtcNow(),
                HeartbeatSeconds = _options.HeartbeatSeconds,
                StartedAt = _startedAt,
                LagSeconds = Math.Round(LagSeconds(), 3),
            };
            lock (_statusLock)
            {
                heartbeat.LastAppliedId = _lastAppliedId;
            }

            try
            {
                await _bucket.PutHeartbeatAsync(heartbeat, stopping).ConfigureAwait(false);
                Succeeded("heartbeat");
            }
            catch (Exception ex) when (IsControlBucketFailure(ex, stopping))
            {
                Failed("heartbeat", "heartbeat", ex);

                // Tried again at the poll interval, not the heartbeat period: once the control bucket is back, the node
                // counts as alive again within a poll rather than a period (its last heartbeat may have aged out).
                if (await DelayAsync(PollInterval, stopping).ConfigureAwait(false))
                {
                    continue;
                }

                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
        }
        while (await WaitAsync(timer, stopping).ConfigureAwait(false));
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stopping)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task SaveAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _store.SaveAsync(_state, cancellationToken).ConfigureAwait(false);
            _savedSyncedAt = _state.LastSyncedAt;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Applied all the same: a restart applies it again from the older state, which is harmless.
            LogStateNotSaved(_logger, _store.Path!, ex.Message);
        }
    }

    /// <summary>Keeps the saved sync time recent (once per heartbeat period), so a restarted node's lag starts from it.</summary>
    private async Task SaveIfStaleAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_store.Path is not null && (_savedSyncedAt is null || now - _savedSyncedAt >= TimeSpan.FromSeconds(_options.HeartbeatSeconds)))
        {
            await SaveAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void SetStatus()
    {
        lock (_statusLock)
        {
            _lastAppliedId = _state.LastAppliedId;
            _lastSyncedAt ??= _state.LastSyncedAt;
            _pendingAcks = _state.PendingAcks.Count;
        }
    }

    /// <summary>A call on <paramref name="channel"/> (reading the log, acks, the heartbeat) worked again.</summary>
    private void Succeeded(string channel)
    {
        DateTimeOffset since;
        lock (_statusLock)
        {
            if (!_failing.Remove(channel, out var failing))
            {
                return;
            }

            since = failing.Since;
        }

        LogReachableAgain(_logger, _bucket.Bucket, channel, (_time.GetUtcNow() - since).TotalSeconds);
    }

    /// <summary>Counts every failure, and logs the first of a run and then once a minute, not at every poll.</summary>
    private void Failed(string channel, string operation, Exception ex)
    {
        _metrics.ControlBucketErrors.WithLabels(operation).Inc();
        var now = _time.GetUtcNow();
        bool first, repeat;
        lock (_statusLock)
        {
            first = !_failing.TryGetValue(channel, out var failing);
            repeat = !first && now - failing.Logged >= UnreachableLogInterval;
            if (first || repeat)
            {
                _failing[channel] = (first ? now : failing.Since, now);
            }
        }

        if (first)
        {
            LogUnreachable(_logger, _bucket.Bucket, operation, ex.Message);
        }
        else if (repeat)
        {
            LogStillUnreachable(_logger, _bucket.Bucket, operation, ex.Message, LagSeconds());
        }
    }

    private static bool IsControlBucketFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or SocketException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private void PublishMetrics()
    {
        InvalidationStatus status = Status();
        _metrics.Lag.Set(status.LagSeconds);
        _metrics.PendingAcks.Set(status.PendingAcks);
        _metrics.LastAppliedTimestamp.Set(status.LastAppliedAt?.ToUnixTimeMilliseconds() / 1000.0 ?? 0);
        if (status.LastAppliedId != _publishedId && status.LastAppliedId is not null)
        {
            if (_publishedId is not null)
            {
                _metrics.LastApplied.RemoveLabelled(_publishedId);
            }

            _metrics.LastApplied.WithLabels(status.LastAppliedId).Set(1);
            _publishedId = status.LastAppliedId;
        }
    }
}
