namespace EdgeCache.Origins;

/// <summary>An origin's answer to a health probe: up, or down with the kind and text of what failed.</summary>
public readonly record struct OriginProbeResult(bool Up, string? ErrorKind = null, string? Error = null)
{
    public static OriginProbeResult Ok { get; } = new(true);

    public static OriginProbeResult Failed(string kind, string error) => new(false, kind, error);

    public static OriginProbeResult Failed(OriginException error) => new(false, error.Kind.Label(), error.Message);
}
