using System.Net;
using System.Net.Sockets;
using System.Text;
using EdgeCache.Caching;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// An origin's Content-Length must be digits (RFC 9110 8.6). One that is not leaves the response without framing: the
/// origin client would read to the end of the connection, and the node would relay or store bytes the origin never framed.
/// A repeated field line with the same value is framed; a comma list in one line is not (the client cannot read it), so
/// it is refused as RFC 9112 6.3 allows.
/// </summary>
public sealed class OriginContentLengthTests
{
    [Theory]
    [InlineData("+5")]
    [InlineData("-0")]
    [InlineData("5 5")]
    [InlineData("5, 6")]
    [InlineData("10, 10")]
    public async Task A_response_whose_content_length_is_not_digits_is_a_502_and_not_stored(string contentLength)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var answering = AnswerAsync(listener, $"HTTP/1.1 200 OK\r\nContent-Length: {contentLength}\r\nCache-Control: max-age=600\r\nConnection: close\r\n\r\nhelloworld", stop.Token);
        var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        await using var edge = await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new() { Id = "origin", Type = "http", Url = url, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
            o.Behaviors.Add(new() { PathPattern = "*", Origin = "origin" });
        });

        using var response = await edge.Viewer.GetAsync("/framed");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(0, edge.Get<MemoryCacheStore>().Count);
        await stop.CancelAsync();
        await answering;
    }

    [Theory]
    [InlineData("10")]
    [InlineData("010")]
    [InlineData("10\r\nContent-Length: 10")]
    public async Task A_content_length_of_digits_or_of_one_repeated_value_is_served(string contentLength)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        var answering = AnswerAsync(listener, $"HTTP/1.1 200 OK\r\nContent-Length: {contentLength}\r\nCache-Control: max-age=600\r\nConnection: close\r\n\r\nhelloworld", stop.Token);
        var url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        await using var edge = await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new() { Id = "origin", Type = "http", Url = url, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
            o.Behaviors.Add(new() { PathPattern = "*", Origin = "origin" });
        });

        using var response = await edge.Viewer.GetAsync("/framed");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("helloworld", await response.Content.ReadAsStringAsync());
        await stop.CancelAsync();
        await answering;
    }

    /// <summary>Answers every connection with <paramref name="response"/>, byte for byte, then closes it.</summary>
    private static async Task AnswerAsync(TcpListener listener, string response, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using var client = await listener.AcceptTcpClientAsync(cancellationToken);
                var stream = client.GetStream();
                var request = new byte[8192];
                _ = await stream.ReadAsync(request, cancellationToken);
                await stream.WriteAsync(Encoding.ASCII.GetBytes(response), cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // The test is done.
        }
    }
}
