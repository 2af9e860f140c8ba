namespace EdgeCache.Caching;

/// <summary>
/// One reference to a <see cref="CachedBody"/> (see its remarks), released once: a request's hold on a large entry it
/// loaded from the disk tier, registered with the response so the entry's file closes when the request ends.
/// </summary>
public sealed class BodyReference(CachedBody body) : IDisposable
{
    private CachedBody? _body = body;

    public void Dispose() => Interlocked.Exchange(ref _body, null)?.ReleaseReference();
}
