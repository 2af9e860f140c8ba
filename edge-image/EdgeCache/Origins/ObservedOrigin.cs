namespace EdgeCache.Origins;

/// <summary>
/// An origin as the registry hands it out: failures of the requests sent through it are recorded in
/// <see cref="OriginHealth"/> under its id, whichever path sent them (a collapsed fetch, a pass-through, an unsafe method).
/// </summary>
internal sealed class ObservedOrigin(IOrigin inner, OriginHealth health) : IOrigin, IDisposable
{
    public string Id => inner.Id;

    public TimeSpan ReadTimeout => inner.ReadTimeout;

    public Task<OriginResponse> SendAsync(OriginRequest request, CancellationToken cancellationToken)
    {
        var sending = inner.SendAsync(request, cancellationToken);
        return sending.IsCompletedSuccessfully ? sending : ObserveAsync(sending);
    }

    public Task<OriginProbeResult> ProbeAsync(CancellationToken cancellationToken) => inner.ProbeAsync(cancellationToken);

    private async Task<OriginResponse> ObserveAsync(Task<OriginResponse> sending)
    {
        try
        {
            return await sending.ConfigureAwait(false);
        }
        catch (OriginException ex)
        {
            health.RecordFailure(Id, ex);
            throw;
        }
    }

    public void Dispose() => (inner as IDisposable)?.Dispose();
}
