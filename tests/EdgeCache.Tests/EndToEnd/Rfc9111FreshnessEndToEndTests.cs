using System.Globalization;
using EdgeCache.Configuration;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// RFC 9111 freshness through the real node on real sockets, against a scripted origin that sends exactly the bytes
/// under test: an upstream Age, Expires in each format and malformed, and a connection dropped under a response that
/// must not be served stale.
/// </summary>
public sealed class Rfc9111FreshnessEndToEndTests
{
    [Fact]
    public async Task Rfc9111_4_2_3_an_upstream_age_past_max_age_is_stale_on_arrival_and_its_age_relayed()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "aged", "Cache-Control: max-age=3600", "Age: 7200"));
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/aged");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/aged");

        Assert.Equal("aged", first.BodyText);
        Assert.True(long.Parse(second.Header("Age")!, CultureInfo.InvariantCulture) >= 7200, second.HeadText);
        Assert.NotEqual("Hit", second.Header("X-Cache"));
        Assert.Equal(2, origin.Count("/aged"));
    }

    [Fact]
    public async Task Rfc9111_4_2_3_an_upstream_age_within_max_age_counts_towards_the_age_served()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "aged", "Cache-Control: max-age=3600", "Age: 100, 0"));
        await using var edge = await StartNodeAsync(origin);

        await RawViewer.GetAsync(edge.ViewerPort, "/aged");
        edge.Time.Advance(TimeSpan.FromSeconds(10));
        var hit = await RawViewer.GetAsync(edge.ViewerPort, "/aged");

        Assert.Equal("Hit", hit.Header("X-Cache"));
        Assert.InRange(long.Parse(hit.Header("Age")!, CultureInfo.InvariantCulture), 110, 112);
        Assert.Single(hit.Headers("Age"));
    }

    [Fact]
    public async Task Rfc9111_5_1_a_response_passed_through_unstored_keeps_the_upstream_age()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "passed", "Cache-Control: no-store", "Age: 30"));
        await using var edge = await StartNodeAsync(origin);

        var response = await RawViewer.GetAsync(edge.ViewerPort, "/passed");

        Assert.Equal("passed", response.BodyText);
        Assert.Equal("30", response.Header("Age"));
        Assert.Single(response.Headers("Age"));
    }

    [Theory]
    [InlineData("dddd, dd-MMM-yy HH:mm:ss 'GMT'")] // RFC 850
    [InlineData("ddd MMM dd HH:mm:ss yyyy")]       // asctime (a 2-digit day)
    [InlineData("ddd, dd MMM yyyy HH:mm:ss 'gmt'")]
    public async Task Rfc9110_5_6_7_expires_in_an_obsolete_format_gives_the_response_its_lifetime(string format)
    {
        await using var origin = RawOrigin.Start((_, connection) =>
        {
            var now = DateTimeOffset.UtcNow;
            return connection.WriteAsync(RawOrigin.Response(200, "old-format", "Date: " + now.ToString("R"), "Expires: " + now.AddHours(1).ToString(format, CultureInfo.InvariantCulture)));
        });
        await using var edge = await StartNodeAsync(origin);

        await RawViewer.GetAsync(edge.ViewerPort, "/expires");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/expires");

        Assert.Equal("Hit", second.Header("X-Cache"));
        Assert.Equal(1, origin.Count("/expires"));
    }

    [Theory]
    [InlineData("Expires: {0:ddd, dd MMM yyyy HH:mm:ss} GMT", "Expires: {0:ddd, dd MMM yyyy HH:mm:ss} GMT")] // two lines
    [InlineData("Expires: {0:ddd,  dd MMM yyyy HH:mm:ss} GMT", null)] // extra space
    [InlineData("Expires: {0:ddd, dd-MMM-yyyy HH:mm:ss} GMT", null)] // dashes in an IMF-fixdate
    [InlineData("Expires: {1:ddd, dd MMM yyyy} 8:00:00 GMT", null)] // 1-digit hour
    [InlineData("Expires: 0", null)]
    public async Task Rfc9111_5_3_an_invalid_expires_is_already_expired(string line, string? secondLine)
    {
        await using var origin = RawOrigin.Start((_, connection) =>
        {
            var now = DateTimeOffset.UtcNow;
            string[] headers = ["Date: " + now.ToString("R"), "ETag: \"e\"", string.Format(CultureInfo.InvariantCulture, line, now.AddHours(1), now.AddDays(1))];
            if (secondLine is not null)
            {
                headers = [.. headers, string.Format(CultureInfo.InvariantCulture, secondLine, now.AddHours(2))];
            }

            return connection.WriteAsync(RawOrigin.Response(200, "expired", headers));
        });
        await using var edge = await StartNodeAsync(origin);

        await RawViewer.GetAsync(edge.ViewerPort, "/expires");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/expires");

        Assert.NotEqual("Hit", second.Header("X-Cache"));
        Assert.Equal(2, origin.Count("/expires"));
    }

    [Fact]
    public async Task Rfc9111_4_2_1_expires_counts_from_the_origins_date_when_its_clock_is_behind()
    {
        // The origin's clock is an hour behind: its Expires is in the node's past, yet 30 minutes after its own Date.
        await using var origin = RawOrigin.Start((_, connection) =>
        {
            var originNow = DateTimeOffset.UtcNow.AddHours(-1);
            return connection.WriteAsync(RawOrigin.Response(200, "skewed", "Date: " + originNow.ToString("R"), "Expires: " + originNow.AddMinutes(30).ToString("R")));
        });
        await using var edge = await StartNodeAsync(origin);

        await RawViewer.GetAsync(edge.ViewerPort, "/skewed");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/skewed");

        // Apparent age (now − Date, an hour) exceeds the 30-minute lifetime: stale, and asked for again.
        Assert.NotEqual("Hit", second.Header("X-Cache"));
        Assert.Equal(2, origin.Count("/skewed"));
    }

    [Theory]
    [InlineData(599, "public")]
    [InlineData(404, null)]
    [InlineData(410, null)]
    public async Task Rfc9111_4_2_2_a_heuristically_cacheable_or_public_status_is_stored_with_heuristic_freshness(int status, string? cacheControl)
    {
        await using var origin = RawOrigin.Start((_, connection) =>
        {
            var now = DateTimeOffset.UtcNow;
            string[] headers = ["Date: " + now.ToString("R"), "Last-Modified: " + now.AddDays(-10).ToString("R")];
            if (cacheControl is not null)
            {
                headers = [.. headers, "Cache-Control: " + cacheControl];
            }

            return connection.WriteAsync(RawOrigin.Response(status, "heuristic", headers));
        });
        await using var edge = await StartNodeAsync(origin, o => o.Behaviors[0].DefaultTtlSeconds = 60);

        await RawViewer.GetAsync(edge.ViewerPort, "/h");
        // Past the default TTL, within a tenth of ten days.
        edge.Time.Advance(TimeSpan.FromHours(1));
        var later = await RawViewer.GetAsync(edge.ViewerPort, "/h");

        Assert.Equal(status, later.Status);
        Assert.Equal("Hit", later.Header("X-Cache"));
        Assert.Equal(1, origin.Count("/h"));
    }

    [Theory]
    [InlineData("no-cache")]
    [InlineData("max-age=1, must-revalidate")]
    [InlineData("max-age=1, proxy-revalidate")]
    [InlineData("s-maxage=1")]
    public async Task Rfc9111_4_2_4_stale_if_error_never_serves_a_response_that_forbids_staleness(string cacheControl)
    {
        var dropped = 0;
        await using var origin = RawOrigin.Start((request, connection) =>
        {
            if (request.Target == "/guarded" && Volatile.Read(ref dropped) == 1)
            {
                connection.Close();
                return Task.CompletedTask;
            }

            return connection.WriteAsync(RawOrigin.Response(200, "stored", "Cache-Control: " + cacheControl + ", stale-if-error=600, stale-while-revalidate=600"));
        });
        await using var edge = await StartNodeAsync(origin, o => o.Behaviors[0].StaleIfErrorSeconds = 3600);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/guarded");
        Assert.Equal("stored", first.BodyText);
        edge.Time.Advance(TimeSpan.FromSeconds(5));
        Volatile.Write(ref dropped, 1);

        var afterDrop = await RawViewer.GetAsync(edge.ViewerPort, "/guarded");
        Assert.Equal(502, afterDrop.Status);
        Assert.NotEqual("stored", afterDrop.BodyText);
    }

    [Fact]
    public async Task Rfc5861_4_stale_if_error_serves_a_response_that_allows_it_when_the_origin_drops_the_connection()
    {
        var dropped = 0;
        await using var origin = RawOrigin.Start((_, connection) =>
        {
            if (Volatile.Read(ref dropped) == 1)
            {
                connection.Close();
                return Task.CompletedTask;
            }

            return connection.WriteAsync(RawOrigin.Response(200, "stored", "Cache-Control: max-age=1, stale-if-error=600"));
        });
        await using var edge = await StartNodeAsync(origin);

        await RawViewer.GetAsync(edge.ViewerPort, "/allowed");
        edge.Time.Advance(TimeSpan.FromSeconds(5));
        Volatile.Write(ref dropped, 1);

        var afterDrop = await RawViewer.GetAsync(edge.ViewerPort, "/allowed");
        Assert.Equal(200, afterDrop.Status);
        Assert.Equal("stored", afterDrop.BodyText);
        Assert.Contains("detail=stale-if-error", afterDrop.Header("Cache-Status"), StringComparison.Ordinal);
    }

    private static Task<EdgeNode> StartNodeAsync(RawOrigin origin, Action<EdgeCacheOptions>? configure = null) =>
        EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions { Id = "origin", Type = "http", Url = origin.Url, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "origin" });
            configure?.Invoke(o);
        });
}
