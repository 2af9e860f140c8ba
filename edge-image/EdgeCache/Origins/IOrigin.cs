namespace EdgeCache.Origins;

/// <summary>A configured origin. The only way a request leaves the node: there is no path from viewer input to an arbitrary URL.</summary>
public interface IOrigin
{
    string Id { get; }

    /// <summary>Idle time allowed between two reads of a response body.</summary>
    TimeSpan ReadTimeout { get; }

    /// <summary>Sends the request; throws <see cref="OriginException"/> for connect failures, timeouts and protocol errors.</summary>
    Task<OriginResponse> SendAsync(OriginRequest request, CancellationToken cancellationToken);

    /// <summary>Health probe (OriginHealthMonitor): up when the origin answers, otherwise what failed.</summary>
    Task<OriginProbeResult> ProbeAsync(CancellationToken cancellationToken);
}
