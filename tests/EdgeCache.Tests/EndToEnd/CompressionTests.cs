using System.IO.Compression;
using System.Text;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

public sealed class CompressionTests
{
    private static readonly string Css = string.Concat(Enumerable.Repeat("body { color: #123456; margin: 0 auto; }\n", 200));

    [Fact]
    public async Task Each_encoding_is_its_own_variant_and_decodes_to_the_origin_bytes()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.Headers.ETag = "\"css1\"";
            ctx.Response.ContentType = "text/css; charset=utf-8";
            return ctx.Response.WriteAsync(Css);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].Compress = true);

        var (brCache, br, brHeaders) = await Get(edge, "br, gzip");
        var (gzCache, gz, gzHeaders) = await Get(edge, "gzip;q=1, br;q=0");
        var (idCache, identity, idHeaders) = await Get(edge, "");
        var (brAgain, _, _) = await Get(edge, "gzip, deflate, br");
        var (gzAgain, _, _) = await Get(edge, "x-gzip");

        Assert.Equal(("Miss", "Miss", "Miss"), (brCache, gzCache, idCache));
        Assert.Equal(("Hit", "Hit"), (brAgain, gzAgain));
        Assert.Equal("br", brHeaders.Header("Content-Encoding"));
        Assert.Equal("gzip", gzHeaders.Header("Content-Encoding"));
        Assert.Equal("", idHeaders.Header("Content-Encoding"));
        Assert.Contains("Accept-Encoding", brHeaders.Header("Vary"), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("W/\"css1\"", brHeaders.Header("ETag"));
        Assert.Equal(Css, Encoding.UTF8.GetString(Decode(new BrotliStream(new MemoryStream(br), CompressionMode.Decompress))));
        Assert.Equal(Css, Encoding.UTF8.GetString(Decode(new GZipStream(new MemoryStream(gz), CompressionMode.Decompress))));
        Assert.Equal(Css, Encoding.UTF8.GetString(identity));
        Assert.True(br.Length < Css.Length / 5);
        // The origin was always asked for identity: the node compresses.
        Assert.All(origin.Requests, r => Assert.Equal("identity", r.Headers["Accept-Encoding"]));
        Assert.Equal(3, origin.Count("/site.css"));
    }

    [Theory]
    [InlineData("image/png", 4000)]
    [InlineData("text/css", 500)]
    public async Task Ineligible_responses_are_stored_once_and_served_uncompressed(string contentType, int size)
    {
        var payload = new string('a', size);
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.ContentType = contentType;
            ctx.Response.ContentLength = size;
            return ctx.Response.WriteAsync(payload);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].Compress = true);
        var (first, body, headers) = await Get(edge, "br", "/site.css");
        var (second, _, _) = await Get(edge, "gzip", "/site.css");
        Assert.Equal(("Miss", "Hit"), (first, second));
        Assert.Equal("", headers.Header("Content-Encoding"));
        Assert.Equal(size, body.Length);
    }

    [Fact]
    public async Task Without_compress_the_viewer_accept_encoding_does_not_fragment_the_cache()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.ContentType = "text/css";
            return ctx.Response.WriteAsync(Css);
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        await Get(edge, "br");
        var (second, body, _) = await Get(edge, "gzip");
        Assert.Equal("Hit", second);
        Assert.Equal(Css, Encoding.UTF8.GetString(body));
    }

    private static async Task<(string Cache, byte[] Body, HttpResponseMessage Response)> Get(EdgeNode edge, string acceptEncoding, string path = "/site.css")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        var response = await edge.Viewer.SendAsync(request);
        return (response.XCache(), await response.Content.ReadAsByteArrayAsync(), response);
    }

    private static byte[] Decode(Stream decoder)
    {
        using var output = new MemoryStream();
        decoder.CopyTo(output);
        decoder.Dispose();
        return output.ToArray();
    }
}
