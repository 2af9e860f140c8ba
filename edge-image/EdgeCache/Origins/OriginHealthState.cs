namespace EdgeCache.Origins;

/// <param name="Up">The last probe's answer; null before the first probe.</param>
/// <param name="LastProbeAt">When the last probe answered; null before the first.</param>
/// <param name="LastError">The most recent failure, from a probe or a fetch; kept after the origin recovers, with its time.</param>
public sealed record OriginHealthState(bool? Up, DateTimeOffset? LastProbeAt, OriginError? LastError);
