namespace EdgeCache.Fetching;

/// <summary>
/// A viewer's place in an <see cref="InFlightFetch"/>, left once when the viewer's request ends (registered with the
/// response, so every way out of the request leaves it): the viewer's reference to the fetched body goes with it.
/// </summary>
public sealed class FetchMembership(InFlightFetch fetch) : IDisposable
{
    private InFlightFetch? _fetch = fetch;

    public void Dispose() => Interlocked.Exchange(ref _fetch, null)?.Leave();
}
