namespace EdgeCache.Configuration;

public sealed class ShutdownOptions
{
    /// <summary>On SIGTERM: stop accepting, then let in-flight responses finish for up to this long.</summary>
    public int GracePeriodSeconds { get; set; } = 25;
}
