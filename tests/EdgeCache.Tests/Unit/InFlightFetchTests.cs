using EdgeCache.Caching;
using EdgeCache.Fetching;
using EdgeCache.Origins;
using EdgeCache.Tests.Infrastructure;
using Moq;

namespace EdgeCache.Tests.Unit;

/// <summary>Who may join a fetch under way.</summary>
public sealed class InFlightFetchTests
{
    [Fact]
    public void A_viewer_may_join_a_body_still_arriving_but_not_one_the_origin_failed()
    {
        // Between the body failing and its pump finishing the fetch is still in flight; a viewer that joined it then got a
        // body that could only be cut off, where a fetch of its own could succeed.
        var fetch = new InFlightFetch("cdn.example/large.bin", Request());
        var body = new CachedBody(1000);
        fetch.SetOutcome(new FetchOutcome.Shared(FreshnessTests.Entry(60, 0, DateTimeOffset.UtcNow, body: body), revalidated: false, storable: true, originStatus: 200));

        Assert.True(fetch.TryJoin());
        fetch.Leave();

        body.Fail(new IncompleteBodyException("origin sent 500 of 1000 bytes"));
        Assert.False(fetch.TryJoin());
    }

    private static FetchRequest Request()
    {
        var origin = new Mock<IOrigin>();
        origin.SetupGet(o => o.Id).Returns("origin");
        return TestFetchRequest.For(origin.Object, "/large.bin");
    }
}
