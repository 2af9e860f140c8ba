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

    internal void SetOutcome(FetchOutcome outcome)
    {
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
