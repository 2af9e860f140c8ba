using EdgeCache.Configuration;
using EdgeCache.Observability;
using EdgeCache.Origins;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace EdgeCache.Tests.Unit;

/// <summary>OriginGroup's failover decisions, with its members mocked at the IOrigin boundary.</summary>
public sealed class OriginGroupUnitTests
{
    private readonly Mock<IOrigin> _primary = new(MockBehavior.Strict);
    private readonly Mock<IOrigin> _secondary = new(MockBehavior.Strict);
    private readonly FakeTimeProvider _time = new();
    private readonly EdgeCacheMetrics _metrics = new();

    public OriginGroupUnitTests()
    {
        _primary.Setup(o => o.Id).Returns("primary");
        _secondary.Setup(o => o.Id).Returns("secondary");
        _secondary.Setup(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>())).ReturnsAsync(() => Response(200));
    }

    [Theory]
    [InlineData(OriginErrorKind.Connect, "connect")]
    [InlineData(OriginErrorKind.Timeout, "timeout")]
    [InlineData(OriginErrorKind.Protocol, "protocol")]
    public async Task Transport_failures_of_the_primary_go_to_the_secondary(OriginErrorKind kind, string reason)
    {
        _primary.Setup(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new OriginException("primary", kind, "down"));
        var group = Group();

        using var response = await group.SendAsync(Get(), CancellationToken.None);

        Assert.Equal(200, response.StatusCode);
        _secondary.Verify(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()), Times.Once);
        Assert.Equal(1, _metrics.OriginFailovers.WithLabels("g", reason).Value);
    }

    [Fact]
    public async Task Only_configured_statuses_fail_over()
    {
        _primary.SetupSequence(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(Response(404))
            .ReturnsAsync(Response(503));
        var group = Group(failover: [503]);

        using var notFound = await group.SendAsync(Get(), CancellationToken.None);
        using var unavailable = await group.SendAsync(Get(), CancellationToken.None);

        Assert.Equal(404, notFound.StatusCode);
        Assert.Equal(200, unavailable.StatusCode);
        _secondary.Verify(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()), Times.Once);
    }

    [Fact]
    public async Task Requests_with_a_body_are_never_replayed_to_the_secondary()
    {
        _primary.Setup(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new OriginException("primary", OriginErrorKind.Connect, "down"));
        var group = Group();
        var post = new OriginRequest { Method = "POST", Path = "/form", Body = new MemoryStream([1, 2, 3]) };

        await Assert.ThrowsAsync<OriginException>(() => group.SendAsync(post, CancellationToken.None));
        _secondary.Verify(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Theory]
    [InlineData("DELETE")]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    public async Task Body_less_unsafe_requests_are_never_sent_to_the_secondary(string method)
    {
        _primary.Setup(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new OriginException("primary", OriginErrorKind.Timeout, "slow"));
        var group = Group();
        var request = new OriginRequest { Method = method, Path = "/item/1" };

        await Assert.ThrowsAsync<OriginException>(() => group.SendAsync(request, CancellationToken.None));
        _secondary.Verify(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task A_failover_status_to_a_body_less_unsafe_request_is_returned_as_is()
    {
        _primary.Setup(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>())).ReturnsAsync(() => Response(503));
        var group = Group();

        using var response = await group.SendAsync(new OriginRequest { Method = "DELETE", Path = "/item/1" }, CancellationToken.None);

        Assert.Equal(503, response.StatusCode);
        _secondary.Verify(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()), Times.Never);
    }

    [Fact]
    public async Task An_open_circuit_skips_the_primary_until_the_break_has_passed()
    {
        _primary.Setup(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new OriginException("primary", OriginErrorKind.Timeout, "slow"));
        var group = Group(breakSeconds: 10);

        for (var i = 0; i < 5; i++)
        {
            (await group.SendAsync(Get(), CancellationToken.None)).Dispose();
        }

        // minimumThroughput 2 at ratio 0.5: the circuit opened after two failures; three requests skipped the primary.
        _primary.Verify(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()), Times.Exactly(2));
        Assert.Equal(3, _metrics.OriginFailovers.WithLabels("g", "circuit-open").Value);

        _time.Advance(TimeSpan.FromSeconds(11));
        (await group.SendAsync(Get(), CancellationToken.None)).Dispose();
        _primary.Verify(o => o.SendAsync(It.IsAny<OriginRequest>(), It.IsAny<CancellationToken>()), Times.Exactly(3));
    }

    private OriginGroup Group(List<int>? failover = null, int breakSeconds = 30) => new(
        new OriginOptions
        {
            Id = "g",
            Type = "group",
            Primary = "primary",
            Secondary = "secondary",
            FailoverStatusCodes = failover ?? [],
            CircuitBreaker = new CircuitBreakerOptions { FailureRatio = 0.5, MinimumThroughput = 2, SamplingSeconds = 30, BreakSeconds = breakSeconds },
        },
        _primary.Object,
        _secondary.Object,
        _time,
        _metrics,
        NullLogger.Instance);

    private static OriginRequest Get() => new() { Method = "GET", Path = "/x" };

    private static OriginResponse Response(int status) => new(status, new List<KeyValuePair<string, StringValues>>(), 0, Stream.Null);
}
