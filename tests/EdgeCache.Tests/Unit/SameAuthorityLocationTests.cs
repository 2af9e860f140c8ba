using EdgeCache.Proxy;

namespace EdgeCache.Tests.Unit;

/// <summary>Which Location values an unsafe method's response may invalidate (RFC 9111 4.4), whatever Host the viewer sent.</summary>
public sealed class SameAuthorityLocationTests
{
    [Theory]
    [InlineData("shop.example", "/m/other", "/m/other")]
    [InlineData("shop.example", "other", "/m/other")]
    [InlineData("shop.example", "../x?y=1", "/x")]
    [InlineData("shop.example", "http://SHOP.example/x", "/x")]
    [InlineData("shop.example", "https://shop.example/x", "/x")]
    [InlineData("shop.example:8080", "http://shop.example:8080/x", "/x")]
    [InlineData("a:99999", "/m/other", "/m/other")]
    [InlineData("a..b", "other", "/m/other")]
    [InlineData("xn--", "/m/other", "/m/other")]
    [InlineData("[::1]:99999", "/m/other", "/m/other")]
    [InlineData("", "/m/other", "/m/other")]
    public void Relative_and_same_authority_locations_resolve(string host, string location, string path)
    {
        Assert.True(SameAuthorityLocation.TryResolve(host, "/m/loc", location, out var target));
        Assert.Equal(path, target.AbsolutePath);
    }

    [Theory]
    [InlineData("shop.example", "http://evil.example/x")]
    [InlineData("shop.example", "//evil.example/x")]
    [InlineData("shop.example", "http://shop.example:8080/x")]
    [InlineData("shop.example", "mailto:someone@shop.example")]
    [InlineData("shop.example", "http://edgecache.invalid/x")]
    [InlineData("a:99999", "http://a:99999/x")]
    [InlineData("a:99999", "http://edgecache.invalid/x")]
    [InlineData("a..b", "//a..b/x")]
    [InlineData("", "http://edgecache.invalid/x")]
    [InlineData("shop.example", "http://[::1/x")]
    public void Other_authorities_and_what_does_not_parse_are_never_invalidated(string host, string location)
    {
        Assert.False(SameAuthorityLocation.TryResolve(host, "/m/loc", location, out _));
    }
}
