using System.Diagnostics;
using EdgeCache.Caching;
using EdgeCache.Origins;

namespace EdgeCache.Fetching;

/// <summary>
/// One origin fetch that any number of viewers wait on (the "one task per key" pattern of ASP.NET Core's output
/// cache dispatcher, without its whole-body buffering). The fetch runs on its own task with the node's lifetime
/// token, so the viewer that started it can disconnect without cancelling it for the others.
/// </summary>
public sealed class InFlightFetch(string collapseKey, FetchRequest request)
{
    private readonly TaskCompletionSource<FetchOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private bool _leaderGone;
    private bool _passClaimed;
    private int _waiters;

    // Viewers that joined (the leader included) and whose requests have not ended; once a body is published, each holds
    // a reference to it (CachedBody's remarks), so its file stays open until the last of them is done.
    private int _viewers = 1;
    private CachedBody? _body;

    public string CollapseKey { get; } = collapseKey;

    public FetchRequest Request { get; } = request;

    /// <summary>The purge generation when the fetch started; a purge after that which covers the path keeps the result out of the cache.</summary>
    public long Generation { get; init; }

    /// <summary>
    /// The outcome, for the viewers that joined. Its continuations run on the thread pool: a herd's waiters must not be
    /// served one after another on the thread that publishes it. The leader awaits <see cref="Running"/> instead.
    /// </summary>
    public Task<FetchOutcome> Outcome => _outcome.Task;

    /// <summary>
    /// The fetch itself, from the origin request to the published <see cref="Outcome"/>. The leader resumes from it on the
    /// thread that finished the fetch (the origin connection's I/O thread) instead of through <see cref="Outcome"/>: one
    /// thread-pool hop, and its wake-up, less per miss.
    /// </summary>
    public Task Running { get; internal set; } = Task.CompletedTask;

    /// <summary>Viewers that joined this fetch besides the one that started it.</summary>
    public int Waiters => Volatile.Read(ref _waiters);

    internal void AddWaiter() => Interlocked.Increment(ref _waiters);

    /// <summary>
    /// Another viewer joins; it calls <see cref="Leave"/> when its request ends. False when the published body can no
    /// longer be read whole (the origin failed it, its file closed, or it was given up with no viewer left): the caller
    /// needs a fetch of its own. A failed fetch stays joinable until its pump has finished, and a viewer that joined it
    /// then would be cut off.
    /// </summary>
    internal bool TryJoin()
    {
        lock (_lock)
        {
            if (_body is not null && (_body.IsFaulted || !_body.TryAddReference()))
            {
                return false;
            }

            _viewers++;
            return true;
        }
    }

    /// <summary>A viewer that joined (or started) this fetch is done: its reference to the body, if one was published, goes.</summary>
    public void Leave()
    {
        CachedBody? body;
        lock (_lock)
        {
            _viewers--;
            body = _body;
        }

        body?.ReleaseReference();
    }

    internal void SetOutcome(FetchOutcome outcome)
    {
        if (outcome is FetchOutcome.Shared shared)
        {
            lock (_lock)
            {
                // Before the outcome is seen, so no viewer can leave between: one reference per viewer still here. The
                // publisher holds its own reference to the body meanwhile, so the body is readable.
                _body = shared.Entry.Body;
                var added = _body.TryAddReferences(_viewers);
                Debug.Assert(added, "a fetch published a body it did not hold");
            }
        }

        _outcome.TrySetResult(outcome);
        if (outcome is FetchOutcome.Pass pass)
        {
            lock (_lock)
            {
                if (_leaderGone && !_passClaimed)
                {
                    _passClaimed = true;
                    pass.Response.Dispose();
                }
            }
        }
    }

    /// <summary>The leader takes the pass-through response it alone may read; null if it is not one or already taken.</summary>
    public OriginResponse? ClaimPass()
    {
        lock (_lock)
        {
            if (_outcome.Task.IsCompletedSuccessfully && _outcome.Task.Result is FetchOutcome.Pass pass && !_passClaimed)
            {
                _passClaimed = true;
                return pass.Response;
            }

            return null;
        }
    }

    /// <summary>The leader went away (or never existed: a background refresh); a pass-through response nobody will read is released.</summary>
    public void AbandonByLeader()
    {
        lock (_lock)
        {
            _leaderGone = true;
            if (_outcome.Task.IsCompletedSuccessfully && _outcome.Task.Result is FetchOutcome.Pass pass && !_passClaimed)
            {
                _passClaimed = true;
                pass.Response.Dispose();
            }
        }
    }
}
