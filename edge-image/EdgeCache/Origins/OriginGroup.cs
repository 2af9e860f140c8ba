using System.Collections.Frozen;
using EdgeCache.Configuration;
using EdgeCache.Observability;
using EdgeCache.Syntax;
using Polly;
using Polly.CircuitBreaker;

namespace EdgeCache.Origins;

/// <summary>
/// A primary and a secondary origin (e.g. the region's S3 replica and the primary bucket). GET/HEAD go to the primary
/// and fail over on connect errors, timeouts and the configured statuses. Polly's circuit breaker counts those failures
/// and, once the primary is judged dead, skips it for the break duration instead of paying its timeout on every request.
/// </summary>
public sealed partial class OriginGroup : IOrigin
{
    private static readonly int[] DefaultFailoverStatuses = [500, 502, 503, 504];

    private readonly IOrigin _primary;
    private readonly IOrigin _secondary;
    private readonly FrozenSet<int> _failoverStatuses;
    private readonly ResiliencePipeline<OriginResponse> _breaker;
    private readonly EdgeCacheMetrics _metrics;
    private readonly ILogger _logger;

    public OriginGroup(OriginOptions options, IOrigin primary, IOrigin secondary, TimeProvider time, EdgeCacheMetrics metrics, ILogger logger)
    {
        Id = options.Id;
        _primary = primary;
        _secondary = secondary;
        _metrics = metrics;
        _logger = logger;
        _failoverStatuses = (options.FailoverStatusCodes.Count > 0 ? options.FailoverStatusCodes : [.. DefaultFailoverStatuses]).ToFrozenSet();
        var cb = options.CircuitBreaker;
        _breaker = new ResiliencePipelineBuilder<OriginResponse> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<OriginResponse>
            {
                FailureRatio = cb.FailureRatio,
                MinimumThroughput = cb.MinimumThroughput,
                SamplingDuration = TimeSpan.FromSeconds(cb.SamplingSeconds),
                BreakDuration = TimeSpan.FromSeconds(cb.BreakSeconds),
                ShouldHandle = new PredicateBuilder<OriginResponse>()
                    .Handle<OriginException>()
                    .HandleResult(response => _failoverStatuses.Contains(response.StatusCode)),
                OnOpened = args =>
                {
                    LogCircuitOpened(_logger, Id, _primary.Id, args.BreakDuration.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    LogCircuitClosed(_logger, Id, _primary.Id);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public string Id { get; }

    public TimeSpan ReadTimeout => _primary.ReadTimeout > _secondary.ReadTimeout ? _primary.ReadTimeout : _secondary.ReadTimeout;

    public async Task<OriginResponse> SendAsync(OriginRequest request, CancellationToken cancellationToken)
    {
        if (!IsFailoverMethod(request.Method) || request.Body is not null)
        {
            // Only GET/HEAD are retried elsewhere: an unsafe method (even body-less, e.g. DELETE) may already have taken
            // effect on the primary before it failed or timed out, and a request body cannot be replayed.
            return await _primary.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        string reason;
        try
        {
            var response = await _breaker.ExecuteAsync(
                static async (state, ct) => await state.Primary.SendAsync(state.Request, ct).ConfigureAwait(false),
                (Primary: _primary, Request: request),
                cancellationToken).ConfigureAwait(false);
            if (!_failoverStatuses.Contains(response.StatusCode))
            {
                return response;
            }

            reason = "status";
            response.Dispose();
        }
        catch (BrokenCircuitException)
        {
            reason = "circuit-open";
        }
        catch (OriginException ex)
        {
            reason = ex.Kind.Label();
        }

        _metrics.OriginFailovers.WithLabels(Id, reason).Inc();
        return await _secondary.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsFailoverMethod(string method) => RequestMethod.IsGetOrHead(method);

    /// <summary>Up when either member is: the group serves as long as one of them answers.</summary>
    public async Task<OriginProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var primary = await _primary.ProbeAsync(cancellationToken).ConfigureAwait(false);
        if (primary.Up)
        {
            return primary;
        }

        var secondary = await _secondary.ProbeAsync(cancellationToken).ConfigureAwait(false);
        return secondary.Up
            ? secondary
            : OriginProbeResult.Failed(secondary.ErrorKind ?? "unknown", $"primary {_primary.Id}: {primary.Error}; secondary {_secondary.Id}: {secondary.Error}");
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning, Message = "Origin group {GroupId}: primary {PrimaryId} is failing; skipping it for {BreakSeconds} s")]
    private static partial void LogCircuitOpened(ILogger logger, string groupId, string primaryId, double breakSeconds);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Origin group {GroupId}: primary {PrimaryId} is answering again")]
    private static partial void LogCircuitClosed(ILogger logger, string groupId, string primaryId);
}
