using System.Collections.Concurrent;
using EdgeCache.Observability;

namespace EdgeCache.Origins;

/// <summary>
/// What the node knows of each origin's health: the last probe's answer (and <c>edgecache_origin_up</c> for alerting)
/// and the last error, from a probe or from a viewer's fetch. Reported on /readyz and /metrics; a node's readiness does
/// not depend on it unless readiness.requireOrigins asks it to.
/// </summary>
public sealed class OriginHealth(TimeProvider time, EdgeCacheMetrics metrics)
{
    private readonly ConcurrentDictionary<string, OriginHealthState> _states = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, OriginHealthState> States => _states;

    /// <summary>Null until the origin has been probed once.</summary>
    public bool? IsUp(string originId) => _states.TryGetValue(originId, out var state) ? state.Up : null;

    /// <summary>Records a probe's answer; returns the previous one (null before the first).</summary>
    public bool? RecordProbe(string originId, OriginProbeResult result)
    {
        var now = time.GetUtcNow();
        // Probes of one origin do not overlap (OriginHealthMonitor), so the state read here is the one replaced below.
        var previous = IsUp(originId);
        _states.AddOrUpdate(
            originId,
            static (_, arg) => new OriginHealthState(arg.Result.Up, arg.Now, ErrorOf(arg.Result, arg.Now)),
            static (_, state, arg) => state with { Up = arg.Result.Up, LastProbeAt = arg.Now, LastError = ErrorOf(arg.Result, arg.Now) ?? state.LastError },
            (Result: result, Now: now));
        metrics.OriginUp.WithLabels(originId).Set(result.Up ? 1 : 0);
        return previous;
    }

    /// <summary>Records an origin failure met while fetching for a viewer. Does not change <see cref="OriginHealthState.Up"/>: only probes do.</summary>
    public void RecordFailure(string originId, OriginException error)
    {
        var failure = new OriginError("fetch", error.Kind.Label(), error.Message, time.GetUtcNow());
        _states.AddOrUpdate(
            originId,
            static (_, failure) => new OriginHealthState(null, null, failure),
            static (_, state, failure) => state with { LastError = failure },
            failure);
    }

    private static OriginError? ErrorOf(OriginProbeResult result, DateTimeOffset now) =>
        result.Up ? null : new OriginError("probe", result.ErrorKind ?? "unknown", result.Error ?? "", now);
}
