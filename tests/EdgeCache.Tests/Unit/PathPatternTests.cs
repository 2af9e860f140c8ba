using EdgeCache.Syntax;

namespace EdgeCache.Tests.Unit;

/// <summary>CloudFront path patterns at their edges: '*' that matches nothing, backtracking, and what a pattern may contain.</summary>
public sealed class PathPatternTests
{
    [Theory]
    [InlineData("/a*", "/a", true)]
    [InlineData("/a**", "/a", true)]
    [InlineData("/a*?", "/a", false)]
    [InlineData("/a*b", "/a", false)]
    [InlineData("*", "", true)]
    [InlineData("", "", true)]
    [InlineData("", "/", false)]
    [InlineData("/a", "/ab", false)]
    [InlineData("/a", "/", false)]
    public void A_trailing_star_matches_after_the_path_is_used_up_and_nothing_else_does(string pattern, string path, bool matches)
    {
        Assert.Equal(matches, new PathPattern(pattern).IsMatch(path));
    }

    [Theory]
    [InlineData("/a*b*c", "/aXbYbZc", true)]
    [InlineData("/a*bc", "/abXbc", true)]
    [InlineData("/a*bc", "/abcX", false)]
    [InlineData("*/x.js", "/v1/v2/x.js", true)]
    [InlineData("/*.png", "/a.png.txt", false)]
    [InlineData("/*?", "/", false)]
    [InlineData("/*?", "/ab", true)]
    public void A_star_backtracks_to_the_next_place_the_rest_can_match(string pattern, string path, bool matches)
    {
        Assert.Equal(matches, new PathPattern(pattern).IsMatch(path));
    }

    [Theory]
    [InlineData("/images/*", true)]
    [InlineData("*", true)]
    [InlineData("/a b", false)]
    [InlineData("/a#b", false)]
    [InlineData("/a\\b", false)]
    [InlineData("/a\tb", false)]
    [InlineData("/a\u0000", false)]
    public void A_pattern_has_no_spaces_fragments_backslashes_or_controls(string pattern, bool valid)
    {
        Assert.Equal(valid, PathPattern.IsValid(pattern));
    }

    [Fact]
    public void A_pattern_prints_as_written()
    {
        Assert.Equal("/images/*", new PathPattern("/images/*").ToString());
    }
}
