using EdgeCache.Behaviors;
using EdgeCache.Configuration;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// The request side of a behavior's config: allowedMethods takes any RFC 9110 method token, and originRequest forwards
/// named headers and cookies or, by keyword, all of them. The schema, the validator and the loader agree.
/// </summary>
public sealed class RequestPolicyConfigurationTests
{
    [Theory]
    [InlineData("PURGEX")]
    [InlineData("LINK")]
    [InlineData("M-SEARCH")]
    [InlineData("TRACE")]
    [InlineData("get")]
    public void Rfc9110_9_1_any_method_token_is_an_allowed_method(string method)
    {
        var json = Behavior($$"""
            "allowedMethods": ["GET", "HEAD", "{{method}}"]
            """);
        Assert.Empty(EdgeCacheConfigLoader.ValidateAgainstSchema(json));
        var options = Load(json);
        Assert.Contains(method, options.Behaviors[0].AllowedMethods);
        Assert.Contains(method, (IReadOnlySet<string>)new CacheBehavior(0, options.Behaviors[0]).AllowedMethods);
    }

    [Theory]
    [InlineData("PUR GE")]
    [InlineData("GET,POST")]
    [InlineData("")]
    [InlineData("M\u00e9THOD")]
    public void A_method_that_is_not_a_token_is_refused_naming_the_field(string method)
    {
        var json = Behavior($$"""
            "allowedMethods": ["GET", "HEAD", {{System.Text.Json.JsonSerializer.Serialize(method)}}]
            """);
        Assert.Contains(EdgeCacheConfigLoader.ValidateAgainstSchema(json), e => e.StartsWith("behaviors[0].allowedMethods[2]:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\"allViewer\"", true, true)]
    [InlineData("\"allViewerExceptHost\"", true, false)]
    [InlineData("[\"X-A\"]", false, false)]
    public void Origin_request_headers_are_a_list_or_a_keyword(string headers, bool allViewer, bool host)
    {
        var json = Behavior($$"""
            "originRequest": { "headers": {{headers}}, "cookies": "all" }
            """);
        Assert.Empty(EdgeCacheConfigLoader.ValidateAgainstSchema(json));
        var behavior = new CacheBehavior(0, Load(json).Behaviors[0]);
        Assert.Equal(allViewer, behavior.ForwardAllViewerHeaders);
        Assert.Equal(host, behavior.ForwardViewerHost);
        Assert.True(behavior.ForwardAllCookies);
        // A viewer's Authorization reaches the origin with every header, so RFC 9111 3.5 applies to what comes back.
        Assert.Equal(allViewer, behavior.ForwardsAuthorization);
    }

    [Theory]
    [InlineData("\"headers\": \"allViewers\"", "behaviors[0].originRequest.headers")]
    [InlineData("\"headers\": \"all\"", "behaviors[0].originRequest.headers")]
    [InlineData("\"cookies\": \"allViewer\"", "behaviors[0].originRequest.cookies")]
    public void An_unknown_keyword_is_refused_naming_the_field(string field, string at)
    {
        var json = Behavior($$"""
            "originRequest": { {{field}} }
            """);
        Assert.Contains(EdgeCacheConfigLoader.ValidateAgainstSchema(json), e => e.StartsWith(at + ":", StringComparison.Ordinal));
    }

    [Fact]
    public void The_keyword_can_be_set_by_an_environment_override()
    {
        var file = Path.Combine(Path.GetTempPath(), $"edgecache-policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, Behavior(""" "originRequest": { "headers": ["X-A"] } """));
        try
        {
            var options = EdgeCacheConfigLoader.Load(file, new Dictionary<string, string?>
            {
                ["EDGECACHE_Behaviors__0__OriginRequest__Headers"] = "allViewerExceptHost",
                ["EDGECACHE_Behaviors__0__OriginRequest__Cookies"] = "all",
            });
            Assert.Equal("allViewerExceptHost", options.Behaviors[0].OriginRequest.Headers.All);
            Assert.Equal("all", options.Behaviors[0].OriginRequest.Cookies.All);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Behavior(string fields) =>
        $$"""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o", {{fields}} }]}""";

    private static EdgeCacheOptions Load(string json)
    {
        var file = Path.Combine(Path.GetTempPath(), $"edgecache-policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, json);
        try
        {
            return EdgeCacheConfigLoader.Load(file, new Dictionary<string, string?>());
        }
        finally
        {
            File.Delete(file);
        }
    }
}
