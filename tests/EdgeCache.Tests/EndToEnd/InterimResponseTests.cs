using EdgeCache.Configuration;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// RFC 9110 15.2 and RFC 8297: an interim (1xx) response is not the response. Its header fields are never stored with
/// the final response nor replayed on a hit, and the final response after one or more of them is served and cached as
/// usual. (Relaying a 103 to the viewer is not possible with the origin client and server the node is built on: see
/// docs/caching.md.)
/// </summary>
public sealed class InterimResponseTests
{
    [Theory]
    [InlineData("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")]
    [InlineData("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload\r\nX-Interim: yes\r\n\r\n")]
    [InlineData("HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\nHTTP/1.1 199 Whatever\r\nLink: </c.css>; rel=preload\r\n\r\n")]
    public async Task Rfc9110_15_2_interim_response_fields_are_never_stored_or_reused(string interim)
    {
        await using var origin = RawOrigin.Start(interim + RawOrigin.Response(200, "final", "Cache-Control: max-age=600", "X-Final: yes"));
        await using var edge = await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions { Id = "origin", Type = "http", Url = origin.Url, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "origin" });
        });

        var miss = await RawViewer.GetAsync(edge.ViewerPort, "/page");
        var hit = await RawViewer.GetAsync(edge.ViewerPort, "/page");

        foreach (var response in new[] { miss, hit })
        {
            Assert.Equal(200, response.Status);
            Assert.Equal("final", response.BodyText);
            Assert.Equal("yes", response.Header("X-Final"));
            Assert.Null(response.Header("Link"));
            Assert.Null(response.Header("X-Interim"));
        }

        Assert.Equal("Miss", miss.Header("X-Cache"));
        Assert.Equal("Hit", hit.Header("X-Cache"));
        Assert.Equal(1, origin.Count("/page"));
    }
}
