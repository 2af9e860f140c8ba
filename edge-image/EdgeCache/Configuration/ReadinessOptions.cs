namespace EdgeCache.Configuration;

public sealed class ReadinessOptions
{
    public bool RequireOrigins { get; set; } = true;

    public int ProbeIntervalSeconds { get; set; } = 10;
}
