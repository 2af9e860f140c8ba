using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using static EdgeCache.Tests.Unit.FreshnessTests;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// RFC 9111's freshness rules at their exact edges, each test named for the section it proves: the age a response
/// arrives with (4.2.3, 5.1), Expires and the heuristic measured from the origin's Date (4.2.1, 4.2.2, 5.3), and when
/// a stored response may be served stale (4.2.4).
/// </summary>
public sealed class Rfc9111FreshnessTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    // No TTL clamp, so the origin's own lifetime is what is measured.
    private static readonly CacheBehavior Unclamped = new(0, new BehaviorOptions { PathPattern = "*", Origin = "o", MinTtlSeconds = 0, DefaultTtlSeconds = 300, MaxTtlSeconds = 100000 });

    [Theory]
    [InlineData("7200", 7200)]
    [InlineData(" 7200\t", 7200)]
    [InlineData("7200, 0", 7200)]
    [InlineData("7200 ,0", 7200)]
    [InlineData("0", 0)]
    [InlineData("99999999999999999999", 2147483648)]
    public void Rfc9111_5_1_age_is_the_first_non_negative_integer(string age, long expected)
    {
        Assert.Equal(TimeSpan.FromSeconds(expected), CachePolicy.ParseAge(new StringValues(age)));
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("")]
    [InlineData(", 5")]
    [InlineData("+5")]
    public void Rfc9111_5_1_an_invalid_age_is_ignored(string age)
    {
        Assert.Null(CachePolicy.ParseAge(new StringValues(age)));
        var headers = Headers(("Date", Now.ToString("R")), ("Age", age));
        Assert.Equal(TimeSpan.Zero, CachePolicy.CorrectedInitialAge(headers, Now, Now));
    }

    [Fact]
    public void Rfc9111_5_1_duplicate_age_lines_use_the_first()
    {
        Assert.Equal(TimeSpan.FromSeconds(7200), CachePolicy.ParseAge(new StringValues(["7200", "0"])));
        Assert.Null(CachePolicy.ParseAge(StringValues.Empty));
        Assert.Null(CachePolicy.ParseAge(new StringValues((string?)null)));
    }

    [Fact]
    public void Rfc9111_4_2_3_an_upstream_age_makes_a_response_stale_on_arrival()
    {
        var policy = new OriginResponsePolicy(Options.Create(new EdgeCacheOptions()));
        var headers = Headers(("Date", Now.ToString("R")), ("Cache-Control", "max-age=3600"), ("Age", "7200"));
        var cc = CacheControl.Parse("max-age=3600");
        var entry = policy.NewEntry(Unclamped, 200, headers, CachedBody.FromBytes([1]), 1, cc, [], "", null, Now, Now);

        Assert.Equal(TimeSpan.FromSeconds(7200), entry.CurrentAge(Now));
        Assert.True(entry.TimeToLive(Now) < TimeSpan.Zero);
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Empty, Now));
        // The node states its own Age: the origin's is not kept among the stored headers.
        Assert.Equal(0, entry.GetHeader("Age").Count);
    }

    [Fact]
    public void Rfc9111_4_2_3_age_on_a_list_counts_its_first_value()
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Age", "100, 0"));
        Assert.Equal(TimeSpan.FromSeconds(103), CachePolicy.CorrectedInitialAge(headers, Now, Now.AddSeconds(3)));
    }

    [Fact]
    public void Rfc9111_4_2_3_apparent_age_equal_to_the_corrected_age_value()
    {
        // Date 10 s before the response arrived; Age 8 plus a 2 s round trip: both are 10.
        var headers = Headers(("Date", Now.AddSeconds(-8).ToString("R")), ("Age", "8"));
        Assert.Equal(TimeSpan.FromSeconds(10), CachePolicy.CorrectedInitialAge(headers, Now, Now.AddSeconds(2)));
        // A Date in the future is no apparent age; a response time before the request time no delay.
        var future = Headers(("Date", Now.AddSeconds(50).ToString("R")));
        Assert.Equal(TimeSpan.Zero, CachePolicy.CorrectedInitialAge(future, Now.AddSeconds(1), Now));
        // A response time before the request time (a clock stepped back) takes nothing off the Age the origin gave.
        var aged = Headers(("Age", "10"));
        Assert.Equal(TimeSpan.FromSeconds(10), CachePolicy.CorrectedInitialAge(aged, Now.AddSeconds(5), Now));
        var exact = Headers(("Date", Now.ToString("R")));
        Assert.Equal(TimeSpan.Zero, CachePolicy.CorrectedInitialAge(exact, Now, Now));
    }

    [Fact]
    public void Rfc9111_4_2_1_expires_is_measured_from_the_origins_date_not_the_local_clock()
    {
        // The origin's clock is 1000 s behind: Expires 500 s after its Date is a 500 s lifetime, though Expires is past locally.
        var headers = Headers(("Date", Now.AddSeconds(-1000).ToString("R")), ("Expires", Now.AddSeconds(-500).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(500), Lifetime(200, headers));
    }

    [Fact]
    public void Rfc9111_4_2_1_without_a_valid_date_expires_is_measured_from_the_response_time()
    {
        var headers = Headers(("Date", "yesterday"), ("Expires", Now.AddSeconds(40).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(40), Lifetime(200, headers));
        Assert.Equal(TimeSpan.FromSeconds(40), Lifetime(200, Headers(("Expires", Now.AddSeconds(40).ToString("R")))));
    }

    [Theory]
    [InlineData("Thursday, 26-Nov-26 12:00:00 GMT")] // RFC 850
    [InlineData("Thu Nov 26 12:00:00 2026")]         // asctime
    [InlineData("Thu, 26 Nov 2026 12:00:00 gmt")]
    public void Rfc9111_5_3_expires_in_an_obsolete_format_is_honoured(string expires)
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Expires", expires));
        Assert.Equal(TimeSpan.FromDays(1), Lifetime(200, headers));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("Thu, 26 Nov 2026  12:00:00 GMT")]
    [InlineData("Thu, 26-Nov-2026 12:00:00 GMT")]
    [InlineData("Thu, 26 Nov 2026 2:00:00 GMT")]
    public void Rfc9111_5_3_an_invalid_expires_means_already_expired(string expires)
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Expires", expires), ("Last-Modified", Now.AddDays(-100).ToString("R")));
        Assert.Equal(TimeSpan.Zero, Lifetime(200, headers));
    }

    [Fact]
    public void Rfc9111_5_3_two_expires_lines_mean_already_expired()
    {
        var later = Now.AddDays(1).ToString("R");
        var headers = new List<KeyValuePair<string, StringValues>> { new("Date", Now.ToString("R")), new("Expires", new StringValues([later, later])) };
        Assert.Equal(TimeSpan.Zero, Lifetime(200, headers));
    }

    [Fact]
    public void Rfc9111_5_3_expires_equal_to_date_is_already_expired()
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Expires", Now.ToString("R")));
        Assert.Equal(TimeSpan.Zero, Lifetime(200, headers));
        var oneSecond = Headers(("Date", Now.ToString("R")), ("Expires", Now.AddSeconds(1).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(1), Lifetime(200, oneSecond));
    }

    [Fact]
    public void Rfc9111_4_2_2_the_heuristic_is_measured_from_the_origins_date()
    {
        // Last modified 3000 s before the origin's Date, which is itself 1000 s behind: a tenth of 3000, not of 4000.
        var headers = Headers(("Date", Now.AddSeconds(-1000).ToString("R")), ("Last-Modified", Now.AddSeconds(-4000).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(300), Lifetime(200, headers));
    }

    [Fact]
    public void Rfc9111_4_2_2_a_last_modified_at_or_after_date_gives_no_heuristic()
    {
        var same = Headers(("Date", Now.ToString("R")), ("Last-Modified", Now.ToString("R")));
        Assert.Equal(Unclamped.DefaultTtl, Lifetime(200, same));
        var justBefore = Headers(("Date", Now.ToString("R")), ("Last-Modified", Now.AddSeconds(-10).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(1), Lifetime(200, justBefore));
    }

    [Theory]
    [InlineData(200)]
    [InlineData(203)]
    [InlineData(204)]
    [InlineData(206)]
    [InlineData(300)]
    [InlineData(301)]
    [InlineData(308)]
    [InlineData(404)]
    [InlineData(405)]
    [InlineData(410)]
    [InlineData(414)]
    [InlineData(501)]
    public void Rfc9111_4_2_2_every_heuristically_cacheable_status_gets_heuristic_freshness(int status)
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Last-Modified", Now.AddSeconds(-2000).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(200), Lifetime(status, headers));
        Assert.True(CachePolicy.AllowsHeuristic(status, CacheControl.Empty));
    }

    [Theory]
    [InlineData(599)]
    [InlineData(302)]
    [InlineData(500)]
    public void Rfc9111_4_2_2_any_status_marked_public_gets_heuristic_freshness(int status)
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Last-Modified", Now.AddSeconds(-2000).ToString("R")), ("Cache-Control", "public"));
        Assert.Equal(TimeSpan.FromSeconds(200), Lifetime(status, headers));
        Assert.Null(CachePolicy.UnstorableReason(status, CacheControl.Empty, CacheControl.Parse("public"), headers));
    }

    [Theory]
    [InlineData(599)]
    [InlineData(302)]
    [InlineData(500)]
    public void Rfc9111_4_2_2_other_statuses_without_explicit_freshness_are_not_stored(int status)
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Last-Modified", Now.AddSeconds(-2000).ToString("R")));
        Assert.False(CachePolicy.AllowsHeuristic(status, CacheControl.Empty));
        Assert.Equal("status", CachePolicy.UnstorableReason(status, CacheControl.Empty, CacheControl.Empty, headers));
        Assert.Null(CachePolicy.UnstorableReason(status, CacheControl.Empty, CacheControl.Parse("max-age=5"), headers));
        Assert.Null(CachePolicy.UnstorableReason(status, CacheControl.Empty, CacheControl.Parse("s-maxage=5"), headers));
        Assert.Null(CachePolicy.UnstorableReason(status, CacheControl.Empty, CacheControl.Empty, Headers(("Expires", "0"))));
    }

    [Fact]
    public void Rfc9111_4_2_1_freshness_is_fresh_only_while_age_is_less_than_the_lifetime()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now);
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Empty, Now.AddSeconds(59)));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Empty, Now.AddSeconds(60)));
    }

    [Fact]
    public void Rfc9111_5_2_1_1_request_max_age_accepts_an_age_equal_to_it()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now);
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-age=30"), Now.AddSeconds(30)));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-age=30"), Now.AddSeconds(31)));
    }

    [Fact]
    public void Rfc8246_immutable_answers_a_reload_only_while_fresh_to_the_second()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now, cacheControl: "max-age=60, immutable");
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-age=0"), Now.AddSeconds(59)));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-age=0"), Now.AddSeconds(60)));
    }

    [Fact]
    public void Rfc9111_5_2_1_3_min_fresh_accepts_exactly_that_much_freshness_left()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now);
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("min-fresh=20"), Now.AddSeconds(40)));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("min-fresh=20"), Now.AddSeconds(41)));
    }

    [Fact]
    public void Rfc9111_5_2_1_2_max_stale_accepts_exactly_that_much_staleness()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now);
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale=10"), Now.AddSeconds(70)));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale=10"), Now.AddSeconds(71)));
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale=0"), Now.AddSeconds(60)));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale=abc"), Now.AddSeconds(61)));
    }

    [Fact]
    public void Rfc5861_stale_while_revalidate_window_edges()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now, cacheControl: "max-age=60, stale-while-revalidate=30");
        Assert.False(CachePolicy.WithinStaleWhileRevalidate(entry, Now.AddSeconds(59)));
        Assert.True(CachePolicy.WithinStaleWhileRevalidate(entry, Now.AddSeconds(60)));
        Assert.True(CachePolicy.WithinStaleWhileRevalidate(entry, Now.AddSeconds(90)));
        Assert.False(CachePolicy.WithinStaleWhileRevalidate(entry, Now.AddSeconds(91)));
        Assert.False(CachePolicy.WithinStaleWhileRevalidate(Entry(lifetime: 60, initialAge: 0, responseTime: Now), Now.AddSeconds(60)));
    }

    [Fact]
    public void Rfc5861_stale_if_error_window_edges_take_the_widest_of_response_request_and_behavior()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now, cacheControl: "max-age=60, stale-if-error=30");
        Assert.True(CachePolicy.WithinStaleIfError(entry, CacheControl.Empty, Unclamped, Now.AddSeconds(90)));
        Assert.False(CachePolicy.WithinStaleIfError(entry, CacheControl.Empty, Unclamped, Now.AddSeconds(91)));
        Assert.True(CachePolicy.WithinStaleIfError(entry, CacheControl.Parse("stale-if-error=40"), Unclamped, Now.AddSeconds(100)));
        Assert.False(CachePolicy.WithinStaleIfError(entry, CacheControl.Parse("stale-if-error=40"), Unclamped, Now.AddSeconds(101)));
        // A narrower request window does not shrink the response's.
        Assert.True(CachePolicy.WithinStaleIfError(entry, CacheControl.Parse("stale-if-error=5"), Unclamped, Now.AddSeconds(90)));

        var behavior = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", StaleIfErrorSeconds = 50 });
        Assert.True(CachePolicy.WithinStaleIfError(entry, CacheControl.Parse("stale-if-error=40"), behavior, Now.AddSeconds(110)));
        Assert.False(CachePolicy.WithinStaleIfError(entry, CacheControl.Parse("stale-if-error=40"), behavior, Now.AddSeconds(111)));
        Assert.True(CachePolicy.WithinStaleIfError(entry, CacheControl.Parse("stale-if-error=60"), behavior, Now.AddSeconds(120)));
    }

    [Theory]
    [InlineData("no-cache")]
    [InlineData("no-cache=\"Set-Cookie\"")]
    [InlineData("max-age=60, must-revalidate")]
    [InlineData("max-age=60, proxy-revalidate")]
    [InlineData("s-maxage=60")]
    public void Rfc9111_4_2_4_a_response_that_forbids_staleness_is_never_served_stale(string cacheControl)
    {
        var entry = Entry(lifetime: 0, initialAge: 0, responseTime: Now, cacheControl: cacheControl + ", stale-while-revalidate=600, stale-if-error=600");
        var generous = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", StaleIfErrorSeconds = 86400 });
        foreach (var at in new[] { Now, Now.AddSeconds(1), Now.AddSeconds(100) })
        {
            Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale"), at));
            Assert.False(CachePolicy.WithinStaleWhileRevalidate(entry, at));
            Assert.False(CachePolicy.WithinStaleIfError(entry, CacheControl.Parse("stale-if-error=600"), generous, at));
            Assert.False(OriginResponsePolicy.StaleStandsIn(503, entry, CacheControl.Empty, generous, at));
        }

        Assert.True(CachePolicy.ForbidsStale(CacheControl.Parse(cacheControl)));
        Assert.False(CachePolicy.ForbidsStale(CacheControl.Parse("max-age=60, public, immutable")));
    }

    [Theory]
    [InlineData(100, "status")]
    [InlineData(199, "status")]
    [InlineData(206, "status")]
    [InlineData(304, "status")]
    [InlineData(200, null)]
    [InlineData(204, null)]
    public void Rfc9111_3_interim_partial_and_not_modified_responses_are_not_stored_as_they_are(int status, string? reason)
    {
        Assert.Equal(reason, CachePolicy.UnstorableReason(status, CacheControl.Empty, CacheControl.Parse("public, max-age=60"), []));
        Assert.Equal("request-no-store", CachePolicy.UnstorableReason(200, CacheControl.Parse("no-store"), CacheControl.Parse("max-age=60"), []));
    }

    [Theory]
    [InlineData("public", null)]
    [InlineData("s-maxage=60", null)]
    [InlineData("must-revalidate", null)]
    [InlineData("max-age=60", "authorization")]
    [InlineData("proxy-revalidate, max-age=60", "authorization")]
    public void Rfc9111_3_5_a_response_to_an_authorized_request_is_shared_only_when_it_says_so(string cacheControl, string? reason)
    {
        Assert.Equal(reason, CachePolicy.UnshareableReason(Unclamped, true, CacheControl.Parse(cacheControl), []));
        Assert.Null(CachePolicy.UnshareableReason(Unclamped, false, CacheControl.Parse(cacheControl), []));
    }

    private static TimeSpan Lifetime(int status, List<KeyValuePair<string, StringValues>> headers) =>
        CachePolicy.FreshnessLifetime(Unclamped, status, CacheControl.Parse(CachePolicy.Find(headers, "Cache-Control")), headers, Now, 0.1);
}
