namespace EdgeCache.Origins;

/// <summary>One origin failure as /readyz reports it.</summary>
/// <param name="During">"probe" or "fetch" (a viewer's request).</param>
/// <param name="Kind">The failure's label, as in <c>edgecache_origin_errors_total{kind}</c>.</param>
public sealed record OriginError(string During, string Kind, string Message, DateTimeOffset At);
