using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>No open proxy: nothing a viewer sends can choose or escape the configured origin.</summary>
public sealed class HostileInputTests
{
    [Fact]
    public async Task Host_header_and_absolute_form_targets_never_choose_the_origin()
    {
        await using var origin = await TestOrigin.StartAsync(ctx => ctx.Response.WriteAsync("origin:" + ctx.Request.Path));
        await using var other = await TestOrigin.StartAsync(ctx => ctx.Response.WriteAsync("OTHER"));
        await using var edge = await EdgeNode.StartAsync(origin);

        var viaHost = await RawAsync(edge.ViewerPort, $"GET /x HTTP/1.1\r\nHost: 127.0.0.1:{other.Port}\r\nConnection: close\r\n\r\n");
        var viaAbsolute = await RawAsync(edge.ViewerPort, $"GET http://127.0.0.1:{other.Port}/y HTTP/1.1\r\nHost: 127.0.0.1:{other.Port}\r\nConnection: close\r\n\r\n");

        Assert.Contains("origin:/x", viaHost);
        Assert.Contains("origin:/y", viaAbsolute);
        Assert.Empty(other.Requests);
        // The origin sees its own Host, never the viewer's.
        Assert.All(origin.Requests, r => Assert.Equal($"127.0.0.1:{origin.Port}", r.Headers["Host"]));
    }

    [Theory]
    [InlineData("/a/%2e%2e/%2e%2e/secret")]
    [InlineData("/..%2f..%2fsecret")]
    [InlineData("/%252e%252e/secret")]
    [InlineData("/a%5c..%5csecret")]
    [InlineData("/a/%00/b")]
    public async Task Encoded_path_tricks_are_rejected_or_stay_beneath_the_origin(string target)
    {
        await using var origin = await TestOrigin.StartAsync(ctx => ctx.Response.WriteAsync("ok"));
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Origins[0].Url = origin.Url + "/base");

        var response = await RawAsync(edge.ViewerPort, $"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        var status = int.Parse(response.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);

        // Either the node refuses (400) or whatever reached the origin is still under /base, with no dot segments.
        Assert.True(status == 400 || origin.Requests.All(r => r.Path.StartsWith("/base/", StringComparison.Ordinal)), response);
        Assert.All(origin.Requests, r => Assert.DoesNotContain("..", r.Path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Double_encoded_dot_segments_get_400_naming_the_problem()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin);
        using var response = await edge.Viewer.GetAsync("/%252e%252e/etc/passwd");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("double encoding", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public async Task Oversized_request_headers_get_431_and_never_reach_the_origin()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Limits.MaxRequestHeadersBytes = 4096);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/big-headers");
        request.Headers.TryAddWithoutValidation("X-Padding", new string('a', 8000));
        using var response = await edge.Viewer.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public async Task Viewer_headers_and_cookies_the_behavior_does_not_name_are_not_forwarded()
    {
        await using var origin = await TestOrigin.StartAsync(ctx => ctx.Response.WriteAsync("ok"));
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Behaviors[0].CacheKey.Cookies = ["tenant"];
            o.Behaviors[0].OriginRequest.Headers = ["X-Request-Id"];
        });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/fwd");
        request.Headers.TryAddWithoutValidation("X-Request-Id", "r1");
        request.Headers.TryAddWithoutValidation("X-Secret", "s");
        request.Headers.TryAddWithoutValidation("Cookie", "tenant=acme; session=private");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Host", "evil.example");
        (await edge.Viewer.SendAsync(request)).Dispose();

        var seen = Assert.Single(origin.Requests);
        Assert.Equal("r1", seen.Headers["X-Request-Id"]);
        Assert.Equal("tenant=acme", seen.Headers["Cookie"]);
        Assert.False(seen.Headers.ContainsKey("X-Secret"));
        Assert.False(seen.Headers.ContainsKey("X-Forwarded-Host"));
    }

    [Theory]
    [InlineData("max-age=abc")]
    [InlineData("max-age=")]
    [InlineData("max-age=-5")]
    [InlineData(",,;;=,max-age")]
    public async Task Malformed_cache_control_from_the_origin_is_treated_as_stale_not_as_long_lived(string cacheControl)
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = cacheControl;
            return ctx.Response.WriteAsync("m");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/m")).Dispose();
        using var second = await edge.Viewer.GetAsync("/m");
        Assert.NotEqual("Hit", second.XCache());
        Assert.Equal(2, origin.Count("/m"));
    }

    [Fact]
    public async Task Malformed_viewer_cache_control_does_not_break_the_request()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            return ctx.Response.WriteAsync("v");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/mv")).Dispose();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/mv");
        request.Headers.TryAddWithoutValidation("Cache-Control", "max-stale=zz, min-fresh=\"\", =, \"unterminated");
        using var response = await edge.Viewer.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("v", await response.Content.ReadAsStringAsync());
    }

    private static async Task<string> RawAsync(int port, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await reader.ReadToEndAsync(timeout.Token);
    }
}
