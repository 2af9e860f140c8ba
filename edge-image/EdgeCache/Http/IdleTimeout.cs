namespace EdgeCache.Http;

/// <summary>
/// A restartable timeout on the node's <see cref="TimeProvider"/> (so tests fire it by moving a fake clock), linked to
/// an outer token. Used for "no response headers / no body bytes within readTimeout".
/// </summary>
public sealed class IdleTimeout : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;

    public IdleTimeout(TimeProvider time, TimeSpan after, CancellationToken outer)
    {
        _timer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(outer, _timer.Token);
        _timer.CancelAfter(after);
    }

    public CancellationToken Token => _linked.Token;

    /// <summary>True when this timeout (not the outer token) fired.</summary>
    public bool Expired => _timer.IsCancellationRequested;

    public void Restart(TimeSpan after) => _timer.CancelAfter(after);

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}
