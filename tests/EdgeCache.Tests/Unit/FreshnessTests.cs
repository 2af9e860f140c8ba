using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;

namespace EdgeCache.Tests.Unit;

/// <summary>Freshness lifetime, age and what a stored response may answer (RFC 9111 4.2), on a fake clock.</summary>
public sealed class FreshnessTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static readonly CacheBehavior Behavior = new(0, new BehaviorOptions { PathPattern = "*", Origin = "o", MinTtlSeconds = 10, DefaultTtlSeconds = 300, MaxTtlSeconds = 3600 });

    [Theory]
    [InlineData("s-maxage=100, max-age=50", 100)]
    [InlineData("max-age=50", 50)]
    [InlineData("max-age=5", 10)]        // clamped up to minTtl
    [InlineData("max-age=999999", 3600)] // clamped down to maxTtl
    [InlineData("no-cache, max-age=600", 0)]
    public void Cache_control_lifetimes_are_clamped_by_the_behavior(string cacheControl, int expected)
    {
        var headers = Headers(("Cache-Control", cacheControl), ("Date", Now.ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(expected), Lifetime(200, headers));
    }

    [Fact]
    public void Expires_minus_date_is_the_lifetime_when_there_is_no_max_age()
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Expires", Now.AddSeconds(120).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(120), Lifetime(200, headers));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("not a date")]
    public void An_invalid_expires_means_already_expired_then_clamped_to_min_ttl(string expires)
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Expires", expires));
        Assert.Equal(Behavior.MinTtl, Lifetime(200, headers));
    }

    [Fact]
    public void Last_modified_gives_a_tenth_of_its_age_as_heuristic_freshness()
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Last-Modified", Now.AddSeconds(-2000).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(200), Lifetime(200, headers));
    }

    [Fact]
    public void No_heuristic_for_statuses_that_are_not_heuristically_cacheable()
    {
        var headers = Headers(("Date", Now.ToString("R")), ("Last-Modified", Now.AddSeconds(-2000).ToString("R")));
        Assert.Equal(Behavior.DefaultTtl, Lifetime(302, headers));
    }

    [Fact]
    public void Without_any_freshness_information_the_default_ttl_applies()
    {
        Assert.Equal(TimeSpan.FromSeconds(300), Lifetime(200, Headers(("Date", Now.ToString("R")))));
    }

    [Fact]
    public void Corrected_initial_age_takes_the_larger_of_apparent_age_and_age_plus_delay()
    {
        var requestTime = Now;
        var responseTime = Now.AddSeconds(2);

        // Age header 30 + response delay 2 = 32 beats the apparent age (responseTime - Date = 12).
        var withAge = Headers(("Date", Now.AddSeconds(-10).ToString("R")), ("Age", "30"));
        Assert.Equal(TimeSpan.FromSeconds(32), CachePolicy.CorrectedInitialAge(withAge, requestTime, responseTime));

        // Without Age, a Date 100 s in the past makes the apparent age win.
        var oldDate = Headers(("Date", Now.AddSeconds(-100).ToString("R")));
        Assert.Equal(TimeSpan.FromSeconds(102), CachePolicy.CorrectedInitialAge(oldDate, requestTime, responseTime));
    }

    [Fact]
    public void Current_age_grows_with_the_clock()
    {
        var time = new FakeTimeProvider(Now);
        var entry = Entry(lifetime: 60, initialAge: 5, responseTime: time.GetUtcNow());
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(TimeSpan.FromSeconds(25), entry.CurrentAge(time.GetUtcNow()));
        Assert.Equal(TimeSpan.FromSeconds(35), entry.TimeToLive(time.GetUtcNow()));
    }

    [Fact]
    public void Request_directives_decide_whether_a_stored_response_satisfies_the_request()
    {
        var time = new FakeTimeProvider(Now);
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now);
        time.Advance(TimeSpan.FromSeconds(40));
        var now = time.GetUtcNow();

        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Empty, now));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-age=30"), now));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("min-fresh=30"), now));
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("min-fresh=10"), now));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("no-cache"), now));

        time.Advance(TimeSpan.FromSeconds(40)); // 20 s stale
        now = time.GetUtcNow();
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Empty, now));
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale"), now));
        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale=30"), now));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale=10"), now));
    }

    [Fact]
    public void A_fresh_immutable_response_answers_a_reload_but_not_a_forced_reload_or_once_stale()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now, cacheControl: "max-age=60, immutable");
        var plain = Entry(lifetime: 60, initialAge: 0, responseTime: Now, cacheControl: "max-age=60");
        var fresh = Now.AddSeconds(30);

        Assert.True(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-age=0"), fresh));
        Assert.False(CachePolicy.SatisfiesRequest(plain, CacheControl.Parse("max-age=0"), fresh));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("no-cache"), fresh));
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-age=0"), Now.AddSeconds(90)));
    }

    [Theory]
    [InlineData("max-age=60, must-revalidate")]
    [InlineData("max-age=60, proxy-revalidate")]
    [InlineData("s-maxage=60")]
    public void Responses_that_forbid_staleness_are_never_served_stale(string cacheControl)
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now, cacheControl: cacheControl + ", stale-while-revalidate=600, stale-if-error=600");
        var staleTime = Now.AddSeconds(100);
        Assert.False(CachePolicy.SatisfiesRequest(entry, CacheControl.Parse("max-stale"), staleTime));
        Assert.False(CachePolicy.WithinStaleWhileRevalidate(entry, staleTime));
        Assert.False(CachePolicy.WithinStaleIfError(entry, CacheControl.Empty, Behavior, staleTime));
    }

    [Fact]
    public void Stale_windows_come_from_the_response_the_request_or_the_behavior()
    {
        var entry = Entry(lifetime: 60, initialAge: 0, responseTime: Now, cacheControl: "max-age=60, stale-while-revalidate=30, stale-if-error=100");
        Assert.True(CachePolicy.WithinStaleWhileRevalidate(entry, Now.AddSeconds(80)));
        Assert.False(CachePolicy.WithinStaleWhileRevalidate(entry, Now.AddSeconds(100)));
        Assert.True(CachePolicy.WithinStaleIfError(entry, CacheControl.Empty, Behavior, Now.AddSeconds(150)));
        Assert.False(CachePolicy.WithinStaleIfError(entry, CacheControl.Empty, Behavior, Now.AddSeconds(200)));
        Assert.True(CachePolicy.WithinStaleIfError(entry, CacheControl.Parse("stale-if-error=500"), Behavior, Now.AddSeconds(200)));

        var generous = new CacheBehavior(0, new BehaviorOptions { PathPattern = "*", Origin = "o", StaleIfErrorSeconds = 1000 });
        Assert.True(CachePolicy.WithinStaleIfError(entry, CacheControl.Empty, generous, Now.AddSeconds(900)));
    }

    private static TimeSpan Lifetime(int status, List<KeyValuePair<string, StringValues>> headers) =>
        CachePolicy.FreshnessLifetime(Behavior, status, CacheControl.Parse(CachePolicy.Find(headers, "Cache-Control")), headers, Now, 0.1);

    internal static List<KeyValuePair<string, StringValues>> Headers(params (string Name, string Value)[] headers) =>
        [.. headers.Select(h => new KeyValuePair<string, StringValues>(h.Name, h.Value))];

    internal static CacheEntry Entry(int lifetime, int initialAge, DateTimeOffset responseTime, string cacheControl = "max-age=60", CachedBody? body = null, string[]? varyNames = null, string secondaryKey = "") => new()
    {
        StatusCode = 200,
        Headers = Headers(("Cache-Control", cacheControl)),
        Body = body ?? CachedBody.FromBytes([1, 2, 3]),
        RequestTime = responseTime,
        ResponseTime = responseTime,
        CorrectedInitialAge = TimeSpan.FromSeconds(initialAge),
        FreshnessLifetime = TimeSpan.FromSeconds(lifetime),
        CacheControl = CacheControl.Parse(cacheControl),
        VaryNames = varyNames ?? [],
        SecondaryKey = secondaryKey,
    };
}
