using EdgeCache.Hosting;

namespace EdgeCache.Tests.Unit;

public sealed class HttpsRedirectLocationTests
{
    [Theory]
    [InlineData("cdn.example.com", "/", "https://cdn.example.com/")]
    [InlineData("cdn.example.com:80", "/a?b=c", "https://cdn.example.com/a?b=c")]
    [InlineData("cdn.example.com:", "/a", "https://cdn.example.com/a")]
    [InlineData("cdn.example.com.", "/a", "https://cdn.example.com./a")]
    [InlineData("_acme.example.com", "/a", "https://_acme.example.com/a")]
    [InlineData("203.0.113.7:8080", "/a", "https://203.0.113.7/a")]
    [InlineData("[2001:db8::1]", "/a", "https://[2001:db8::1]/a")]
    [InlineData("[::ffff:203.0.113.7]:443", "/a", "https://[::ffff:203.0.113.7]/a")]
    [InlineData("cdn.example.com", "/a b\r\n", "https://cdn.example.com/a%20b%0D%0A")]
    [InlineData("cdn.example.com", "/€?q=é", "https://cdn.example.com/%E2%82%AC?q=%C3%A9")]
    public void A_valid_host_gives_the_https_url_without_its_port(string host, string target, string location)
    {
        Assert.True(HttpsRedirectLocation.TryBuild(host, target, out var built));
        Assert.Equal(location, built);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(":80")]
    [InlineData("cdn.example.com:99999")]
    [InlineData("cdn.example.com:8o")]
    [InlineData("cdn.example.com:80:80")]
    [InlineData("cdn..example.com")]
    [InlineData(".cdn.example.com")]
    [InlineData("-cdn.example.com")]
    [InlineData("cdn-.example.com")]
    [InlineData("cdn.example.com\r\nSet-Cookie: a=b")]
    [InlineData("cdn.example.com/evil")]
    [InlineData("user@cdn.example.com")]
    [InlineData("exa%0d%0ample.com")]
    [InlineData("exämple.com")]
    [InlineData("a b")]
    [InlineData("[2001:db8::1")]
    [InlineData("[203.0.113.7]")]
    [InlineData("[fe80::1%25eth0]")]
    [InlineData("[2001:db8::1]x")]
    [InlineData("[2001:db8::1]:x")]
    public void Anything_else_is_refused(string? host)
    {
        Assert.False(HttpsRedirectLocation.TryBuild(host, "/a", out _));
    }

    [Fact]
    public void A_label_longer_than_dns_allows_is_refused()
    {
        Assert.True(HttpsRedirectLocation.TryBuild(new string('a', 63) + ".example.com", "/", out _));
        Assert.False(HttpsRedirectLocation.TryBuild(new string('a', 64) + ".example.com", "/", out _));
    }

    [Fact]
    public void A_target_that_is_not_a_path_is_refused_and_a_path_stays_under_the_host()
    {
        Assert.False(HttpsRedirectLocation.TryBuild("cdn.example.com", "*", out _));
        Assert.False(HttpsRedirectLocation.TryBuild("cdn.example.com", "evil.example/x", out _));
        Assert.True(HttpsRedirectLocation.TryBuild("cdn.example.com", "//evil.example/x", out var location));
        Assert.Equal("cdn.example.com", new Uri(location).Host);
    }
}
