using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;

namespace EdgeCache.Tests.Unit;

/// <summary>What a shared cache may share (RFC 9111 3, 3.5) and store.</summary>
public sealed class SharingTests
{
    private static readonly CacheBehavior Default = new(0, new BehaviorOptions { PathPattern = "*", Origin = "o" });

    [Theory]
    [InlineData("no-store", null, "no-store")]
    [InlineData("private, max-age=60", null, "private")]
    [InlineData("max-age=60", "*", "vary-star")]
    [InlineData("max-age=60", "Accept-Encoding", null)]
    public void Unshareable_responses_are_named(string cacheControl, string? vary, string? expected)
    {
        var headers = vary is null ? FreshnessTests.Headers(("Cache-Control", cacheControl)) : FreshnessTests.Headers(("Cache-Control", cacheControl), ("Vary", vary));
        Assert.Equal(expected, CachePolicy.UnshareableReason(Default, false, CacheControl.Parse(cacheControl), headers));
    }

    [Fact]
    public void Set_cookie_is_shared_only_when_the_behavior_says_so()
    {
        var headers = FreshnessTests.Headers(("Set-Cookie", "a=b"));
        Assert.Equal("set-cookie", CachePolicy.UnshareableReason(Default, false, CacheControl.Empty, headers));
        var allowing = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", CacheSetCookieResponses = true });
        Assert.Null(CachePolicy.UnshareableReason(allowing, false, CacheControl.Empty, headers));
    }

    [Theory]
    [InlineData("max-age=60", "authorization")]
    [InlineData("public, max-age=60", null)]
    [InlineData("s-maxage=60", null)]
    [InlineData("must-revalidate, max-age=60", null)]
    public void Authorization_requests_share_only_explicitly_allowed_responses(string cacheControl, string? expected)
    {
        Assert.Equal(expected, CachePolicy.UnshareableReason(Default, true, CacheControl.Parse(cacheControl), FreshnessTests.Headers(("Cache-Control", cacheControl))));
    }

    [Theory]
    [InlineData(200, "", null)]
    [InlineData(404, "", null)]
    [InlineData(302, "", "status")]
    [InlineData(302, "max-age=60", null)]
    [InlineData(500, "", "status")]
    [InlineData(206, "max-age=60", "status")]
    public void Storability_follows_status_and_explicit_freshness(int status, string cacheControl, string? expected)
    {
        var headers = cacheControl.Length == 0 ? FreshnessTests.Headers() : FreshnessTests.Headers(("Cache-Control", cacheControl));
        Assert.Equal(expected, CachePolicy.UnstorableReason(status, CacheControl.Empty, CacheControl.Parse(cacheControl), headers));
    }

    [Fact]
    public void A_viewer_no_store_request_is_never_stored()
    {
        Assert.Equal("request-no-store", CachePolicy.UnstorableReason(200, CacheControl.Parse("no-store"), CacheControl.Empty, FreshnessTests.Headers()));
    }
}
