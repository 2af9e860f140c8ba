namespace EdgeCache.Proxy;

/// <summary>Per-request facts gathered for the access log and metrics.</summary>
internal sealed class RequestState
{
    public CacheOutcome Outcome { get; set; } = CacheOutcome.Synthetic;

    public long BodyBytes { get; set; }

    public int BehaviorIndex { get; set; } = -1;

    public bool Collapsed { get; set; }

    public string? Detail { get; set; }
}
