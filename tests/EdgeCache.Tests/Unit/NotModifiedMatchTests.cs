using EdgeCache.Caching;
using EdgeCache.Fetching;

namespace EdgeCache.Tests.Unit;

/// <summary>RFC 9111 4.3.4: which stored response a 304 may refresh.</summary>
public sealed class NotModifiedMatchTests
{
    private static readonly DateTimeOffset Monday = new(2030, 1, 7, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("\"a\"", "\"a\"", true)]
    [InlineData("\"a\"", "\"b\"", false)]
    // A strong validator selects only a response with that strong validator.
    [InlineData("W/\"a\"", "\"a\"", false)]
    // A weak one matches by weak comparison.
    [InlineData("\"a\"", "W/\"a\"", true)]
    [InlineData("W/\"a\"", "W/\"a\"", true)]
    [InlineData("W/\"a\"", "W/\"b\"", false)]
    [InlineData(null, "\"a\"", false)]
    public void Etags(string? stored, string notModified, bool updates)
    {
        var entry = Stored(stored, null);
        Assert.Equal(updates, NotModifiedMatch.Updates(entry, FreshnessTests.Headers(("ETag", notModified))));
    }

    [Fact]
    public void Last_modified_must_be_the_stored_one_when_the_304_carries_no_etag()
    {
        var entry = Stored("\"a\"", Monday);
        Assert.True(NotModifiedMatch.Updates(entry, FreshnessTests.Headers(("Last-Modified", Monday.ToString("R")))));
        Assert.False(NotModifiedMatch.Updates(entry, FreshnessTests.Headers(("Last-Modified", Monday.AddDays(1).ToString("R")))));
        Assert.False(NotModifiedMatch.Updates(Stored("\"a\"", null), FreshnessTests.Headers(("Last-Modified", Monday.ToString("R")))));
    }

    [Fact]
    public void A_304_without_validators_answers_the_conditional_it_was_sent() =>
        Assert.True(NotModifiedMatch.Updates(Stored("\"a\"", Monday), FreshnessTests.Headers(("Cache-Control", "max-age=60"))));

    private static CacheEntry Stored(string? etag, DateTimeOffset? lastModified)
    {
        var entry = FreshnessTests.Entry(60, 0, Monday);
        return new CacheEntry
        {
            StatusCode = entry.StatusCode,
            Headers = entry.Headers,
            Body = entry.Body,
            RequestTime = entry.RequestTime,
            ResponseTime = entry.ResponseTime,
            CorrectedInitialAge = entry.CorrectedInitialAge,
            FreshnessLifetime = entry.FreshnessLifetime,
            CacheControl = entry.CacheControl,
            VaryNames = entry.VaryNames,
            SecondaryKey = entry.SecondaryKey,
            ETag = etag,
            LastModified = lastModified,
        };
    }
}
