namespace EdgeCache.Hosting;

/// <param name="Detail">Why, in a few words, for an operator reading /readyz.</param>
public readonly record struct ReadinessCheckResult(bool Ready, string Detail);
