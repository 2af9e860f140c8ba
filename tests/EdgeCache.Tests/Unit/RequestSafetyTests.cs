using EdgeCache.Behaviors;
using EdgeCache.Configuration;
using EdgeCache.Origins;
using EdgeCache.Syntax;

namespace EdgeCache.Tests.Unit;

/// <summary>The no-open-proxy rules in isolation: path validation, origin URL building, behavior matching.</summary>
public sealed class RequestSafetyTests
{
    [Theory]
    [InlineData("/a/../b")]
    [InlineData("/a/./b")]
    [InlineData("/..")]
    [InlineData("/a\\b")]
    [InlineData("/a%2fb")]
    [InlineData("/%2e%2e")]
    [InlineData("/a\u0000b")]
    [InlineData("/a\nb")]
    [InlineData("relative")]
    [InlineData("")]
    public void Paths_that_could_climb_or_be_decoded_again_are_rejected(string path)
    {
        Assert.False(RequestPathValidator.TryValidate(path, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/index.html")]
    [InlineData("/a/b.c/d..e/f")]
    [InlineData("/résumé/日本.png")]
    public void Ordinary_paths_are_accepted(string path)
    {
        Assert.True(RequestPathValidator.TryValidate(path, out _));
    }

    [Theory]
    [InlineData("//evil.example/x", "/base/evil.example/x")]
    [InlineData("/@evil.example", "/base/%40evil.example")]
    [InlineData("/x?y#z", "/base/x%3Fy%23z")]
    [InlineData("/a b", "/base/a%20b")]
    public void Origin_urls_stay_under_the_configured_base(string path, string expectedPath)
    {
        using var origin = new HttpOrigin(new OriginOptions { Id = "o", Type = "http", Url = "http://127.0.0.1:9/base" });
        var uri = origin.BuildUri(path, "");
        Assert.Equal("127.0.0.1:9", uri.Authority);
        Assert.Equal(expectedPath, uri.AbsolutePath);
        Assert.Equal("", uri.Query);
    }

    [Theory]
    [InlineData("/images/*", "/images/a/b.png", true)]
    [InlineData("/images/*", "/Images/a.png", false)]
    [InlineData("*.css", "/a/b/c.css", true)]
    [InlineData("/a?c", "/abc", true)]
    [InlineData("/a?c", "/ac", false)]
    [InlineData("/exact", "/exact/", false)]
    public void Path_patterns_follow_cloudfront_semantics(string pattern, string path, bool matches)
    {
        Assert.Equal(matches, new PathPattern(pattern).IsMatch(path));
    }

    [Fact]
    public void The_first_matching_behavior_wins_and_the_last_catches_the_rest()
    {
        var table = new BehaviorTable(
        [
            new BehaviorOptions { PathPattern = "/api/*", Origin = "api" },
            new BehaviorOptions { PathPattern = "/api/static/*", Origin = "never" },
            new BehaviorOptions { PathPattern = "*", Origin = "site" },
        ]);
        Assert.Equal("api", table.Match("/api/static/x").OriginId);
        Assert.Equal("site", table.Match("/other").OriginId);
    }
}
