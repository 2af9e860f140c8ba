namespace EdgeCache.Origins;

/// <summary>
/// A restartable timeout on the node's <see cref="TimeProvider"/> (so tests fire it by moving a fake clock), that the
/// outer token also cancels. Used for "no response headers / no body bytes within readTimeout".
/// </summary>
public sealed class IdleTimeout : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenRegistration _outer;
    private volatile bool _outerCanceled;

    public IdleTimeout(TimeProvider time, TimeSpan after, CancellationToken outer)
    {
        _timer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        // A registration on the outer token, not a linked source: every miss makes two of these, and a linked source is
        // a third CancellationTokenSource plus a registration list and node on the timer's. The outer sources are
        // long-lived (the node's shutdown, a connection's RequestAborted), so their registration nodes are reused.
        _outer = outer.UnsafeRegister(static state => ((IdleTimeout)state!).CancelFromOuter(), this);
        _timer.CancelAfter(after);
    }

    public CancellationToken Token => _timer.Token;

    /// <summary>True when this timeout (not the outer token) fired.</summary>
    public bool Expired => _timer.IsCancellationRequested && !_outerCanceled;

    public void Restart(TimeSpan after) => _timer.CancelAfter(after);

    public void Dispose()
    {
        _outer.Dispose();
        _timer.Dispose();
    }

    private void CancelFromOuter()
    {
        _outerCanceled = true;
        try
        {
            _timer.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed while the outer token was being cancelled: nobody is waiting on this timeout any more.
        }
    }
}
