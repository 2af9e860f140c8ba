using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>listen.httpsRedirectPort: CloudFront's redirect-to-https on a plain-HTTP port of its own.</summary>
public sealed class HttpsRedirectTests
{
    [Theory]
    [InlineData("GET", "/", "cdn.example.com", "https://cdn.example.com/")]
    [InlineData("GET", "/a/b%20c.txt?x=1&y=%2F&z", "cdn.example.com", "https://cdn.example.com/a/b%20c.txt?x=1&y=%2F&z")]
    [InlineData("HEAD", "/img/logo.png", "cdn.example.com", "https://cdn.example.com/img/logo.png")]
    [InlineData("POST", "/form", "cdn.example.com", "https://cdn.example.com/form")]
    [InlineData("GET", "/p", "cdn.example.com:80", "https://cdn.example.com/p")]
    [InlineData("GET", "/p", "CDN.Example.com:8080", "https://CDN.Example.com/p")]
    [InlineData("GET", "/p", "203.0.113.7", "https://203.0.113.7/p")]
    [InlineData("GET", "/p", "[2001:db8::1]:80", "https://[2001:db8::1]/p")]
    [InlineData("GET", "/p", "cdn.example.com.", "https://cdn.example.com./p")]
    [InlineData("GET", "/%E2%82%AC/%2e%2E/x", "cdn.example.com", "https://cdn.example.com/%E2%82%AC/%2e%2E/x")]
    public async Task Every_request_gets_301_to_the_same_url_over_https(string method, string target, string host, string location)
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await StartAsync(origin);

        var response = await SendAsync(edge, $"{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 301 ", response, StringComparison.Ordinal);
        Assert.Contains($"\r\nLocation: {location}\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nVia: 1.1 edge-test (EdgeCache)\r\n", response, StringComparison.Ordinal);
        Assert.Contains("\r\nCache-Status: edge-test; detail=https-redirect\r\n", response, StringComparison.Ordinal);
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public async Task The_viewer_health_path_answers_200_for_the_load_balancers_checks()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await StartAsync(origin);

        var response = await SendAsync(edge, "GET /.edge/healthz HTTP/1.1\r\nHost: 10.0.0.5:8081\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 ", response, StringComparison.Ordinal);
        Assert.DoesNotContain("Location:", response, StringComparison.Ordinal);
        Assert.Empty(origin.Requests);
    }

    [Theory]
    [InlineData("GET /p HTTP/1.1\r\nHost: \r\n")] // empty
    [InlineData("GET /p HTTP/1.0\r\n")] // none (HTTP/1.0 may omit it)
    [InlineData("GET /p HTTP/1.1\r\nHost: evil.example!$&'()*+,;=\r\n")] // sub-delims (Kestrel refuses these itself)
    [InlineData("GET /p HTTP/1.1\r\nHost: exa%0D%0Ample.com\r\n")] // percent-encoded CR LF (likewise)
    [InlineData("GET /p HTTP/1.1\r\nHost: cdn.example.com:99999\r\n")]
    [InlineData("GET /p HTTP/1.1\r\nHost: cdn.example.com:\r\n")]
    [InlineData("GET /p HTTP/1.1\r\nHost: [2001:db8::1\r\n")]
    [InlineData("GET /p HTTP/1.1\r\nHost: [cdn.example.com]\r\n")]
    [InlineData("GET /p HTTP/1.1\r\nHost: -cdn.example.com\r\n")]
    [InlineData("GET /p HTTP/1.1\r\nHost: cdn..example.com\r\n")]
    public async Task A_host_that_is_not_a_valid_host_and_port_gets_400_never_a_location(string head)
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await StartAsync(origin);

        var response = await SendAsync(edge, head + "Connection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400 ", response, StringComparison.Ordinal);
        Assert.DoesNotContain("Location", response, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task With_proxyProtocol_the_redirect_port_expects_the_header_too()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await StartAsync(origin, proxyProtocol: true);

        byte[] request = [.. ProxyHeader.Tcp4("203.0.113.7", 51234, "10.0.0.5", 80), .. "GET /p HTTP/1.1\r\nHost: cdn.example.com\r\nConnection: close\r\n\r\n"u8.ToArray()];
        var redirected = await SendAsync(edge, request);
        Assert.StartsWith("HTTP/1.1 301 ", redirected, StringComparison.Ordinal);
        Assert.Contains("\r\nLocation: https://cdn.example.com/p\r\n", redirected, StringComparison.Ordinal);

        var withoutHeader = await SendAsync(edge, "GET /p HTTP/1.1\r\nHost: cdn.example.com\r\nConnection: close\r\n\r\n");
        Assert.Equal("", withoutHeader);
    }

    [Fact]
    public async Task The_viewer_port_still_serves_content()
    {
        await using var origin = await TestOrigin.StartAsync(ctx => Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(ctx.Response, "content"));
        await using var edge = await StartAsync(origin);
        Assert.Equal("content", await edge.Viewer.GetStringAsync("/p"));
    }

    private static Task<EdgeNode> StartAsync(TestOrigin origin, bool proxyProtocol = false) => EdgeNode.StartAsync(origin, o =>
    {
        o.Listen.HttpsRedirectPort = FreePort.Next();
        o.Listen.ProxyProtocol = proxyProtocol;
    });

    private static Task<string> SendAsync(EdgeNode edge, string request) => SendAsync(edge, Encoding.ASCII.GetBytes(request));

    /// <summary>Sends one request on a new connection and reads until the node closes it.</summary>
    private static async Task<string> SendAsync(EdgeNode edge, byte[] request)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, edge.Options.Listen.HttpsRedirectPort!.Value);
        await socket.SendAsync(request);
        var buffer = new byte[16 * 1024];
        var total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer.AsMemory(total), timeout.Token)) > 0)
            {
                total += read;
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Closed by the node; what arrived before is the answer.
        }

        return Encoding.ASCII.GetString(buffer, 0, total);
    }
}
