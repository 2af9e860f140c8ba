namespace EdgeCache.Configuration;

/// <summary>When the primary of an origin group is considered dead and skipped (Polly's circuit breaker).</summary>
public sealed class CircuitBreakerOptions
{
    /// <summary>Share of failed requests in the sampling window that opens the circuit.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Requests needed in the window before the ratio counts.</summary>
    public int MinimumThroughput { get; set; } = 5;

    public int SamplingSeconds { get; set; } = 30;

    /// <summary>How long the primary is skipped before one trial request is let through.</summary>
    public int BreakSeconds { get; set; } = 30;
}
