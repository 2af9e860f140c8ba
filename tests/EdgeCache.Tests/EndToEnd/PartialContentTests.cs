using System.Net;
using EdgeCache.Caching;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// RFC 9111 3.3: a 206 the origin sends for the node's own fetch (a behavior that forwards Range) is stored as a partial
/// entry, and ranges inside it are served from it; nothing partial is ever served as the whole object.
/// </summary>
public sealed class PartialContentTests
{
    private const int Size = 10_000;
    private static readonly byte[] Object = CollapsingTests.RandomBytes(Size, seed: 7);

    [Fact]
    public async Task Rfc9111_3_3_a_206_for_the_nodes_fetch_is_stored_and_the_origin_is_asked_once()
    {
        await using var origin = await StartOrigin();
        await using var edge = await StartEdge(origin);

        using (var first = await GetRange(edge, "bytes=0-4999"))
        {
            Assert.Equal(HttpStatusCode.PartialContent, first.StatusCode);
            Assert.Equal($"bytes 0-4999/{Size}", first.Header("Content-Range"));
            Assert.Equal(Object[..5000], await first.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(1, origin.Count("/video.bin"));
        var stored = edge.Get<MemoryCacheStore>().Get("0|/video.bin")!.Find("")!;
        Assert.Equal(206, stored.StatusCode);
    }

    [Fact]
    public async Task Rfc9111_3_3_a_range_inside_the_stored_piece_is_a_hit_with_its_own_content_range()
    {
        await using var origin = await StartOrigin();
        await using var edge = await StartEdge(origin);
        (await GetRange(edge, "bytes=1000-4999")).Dispose();

        using var inside = await GetRange(edge, "bytes=2000-2099");
        Assert.Equal(HttpStatusCode.PartialContent, inside.StatusCode);
        Assert.Equal("Hit", inside.XCache());
        Assert.Equal($"bytes 2000-2099/{Size}", inside.Header("Content-Range"));
        Assert.Equal(100, inside.Content.Headers.ContentLength);
        Assert.Equal("\"v7\"", inside.Headers.ETag!.Tag);
        Assert.Equal(Object[2000..2100], await inside.Content.ReadAsByteArrayAsync());

        using var edges = await GetRange(edge, "bytes=1000-1000");
        Assert.Equal(Object[1000..1001], await edges.Content.ReadAsByteArrayAsync());
        using var last = await GetRange(edge, "bytes=4990-4999");
        Assert.Equal(Object[4990..5000], await last.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task Rfc9110_14_6_several_ranges_inside_the_piece_are_multipart_from_the_cache()
    {
        await using var origin = await StartOrigin();
        await using var edge = await StartEdge(origin);
        (await GetRange(edge, "bytes=0-4999")).Dispose();

        using var response = await GetRange(edge, "bytes=0-9, 3000-3009");
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("Hit", response.XCache());
        Assert.Equal("multipart/byteranges", response.Content.Headers.ContentType!.MediaType);
        Assert.Null(response.Content.Headers.ContentRange);
        var boundary = response.Content.Headers.ContentType.Parameters.Single(p => p.Name == "boundary").Value!;
        var reader = new Microsoft.AspNetCore.WebUtilities.MultipartReader(boundary, new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        var parts = new List<(string Range, byte[] Data)>();
        while (await reader.ReadNextSectionAsync() is { } section)
        {
            using var data = new MemoryStream();
            await section.Body.CopyToAsync(data);
            parts.Add((section.Headers!["Content-Range"].ToString(), data.ToArray()));
        }

        Assert.Equal([$"bytes 0-9/{Size}", $"bytes 3000-3009/{Size}"], parts.Select(p => p.Range));
        Assert.Equal(Object[..10], parts[0].Data);
        Assert.Equal(Object[3000..3010], parts[1].Data);
        Assert.Equal(1, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task Rfc9111_3_3_a_range_outside_the_piece_and_a_whole_request_go_to_the_origin_and_never_get_the_piece()
    {
        await using var origin = await StartOrigin();
        await using var edge = await StartEdge(origin);
        (await GetRange(edge, "bytes=0-4999")).Dispose();

        using (var outside = await GetRange(edge, "bytes=4000-5999"))
        {
            Assert.Equal(HttpStatusCode.PartialContent, outside.StatusCode);
            Assert.Equal($"bytes 4000-5999/{Size}", outside.Header("Content-Range"));
            Assert.Equal(Object[4000..6000], await outside.Content.ReadAsByteArrayAsync());
        }

        using (var whole = await edge.Viewer.GetAsync("/video.bin"))
        {
            Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
            Assert.Null(whole.Content.Headers.ContentRange);
            Assert.Equal(Size, whole.Content.Headers.ContentLength);
            Assert.Equal(Object, await whole.Content.ReadAsByteArrayAsync());
        }

        // The whole object replaced the piece: every range is a hit now.
        using var after = await GetRange(edge, "bytes=9000-9999");
        Assert.Equal("Hit", after.XCache());
        Assert.Equal(Object[9000..], await after.Content.ReadAsByteArrayAsync());
        Assert.Equal(3, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task Rfc9111_3_3_a_head_request_is_not_answered_from_a_piece()
    {
        await using var origin = await StartOrigin();
        await using var edge = await StartEdge(origin);
        (await GetRange(edge, "bytes=0-4999")).Dispose();

        using var head = await edge.Viewer.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/video.bin"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(Size, head.Content.Headers.ContentLength);
        Assert.Equal(2, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task Rfc9111_3_3_a_206_without_a_complete_length_is_relayed_not_stored()
    {
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.StatusCode = 206;
            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.Headers.ContentRange = "bytes 0-9/*";
            ctx.Response.ContentLength = 10;
            await ctx.Response.Body.WriteAsync(Object.AsMemory(0, 10));
        });
        await using var edge = await StartEdge(origin);

        using var response = await GetRange(edge, "bytes=0-9");
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(Object[..10], await response.Content.ReadAsByteArrayAsync());
        Assert.Null(edge.Get<MemoryCacheStore>().Get("0|/video.bin"));
    }

    [Fact]
    public async Task Rfc9111_3_4_pieces_with_one_strong_validator_are_combined_into_the_whole_object()
    {
        await using var origin = await StartOrigin();
        await using var edge = await StartEdge(origin);
        (await GetRange(edge, "bytes=0-3999")).Dispose();
        (await GetRange(edge, "bytes=3000-7999")).Dispose();
        (await GetRange(edge, "bytes=8000-9999")).Dispose();
        Assert.Equal(3, origin.Count("/video.bin"));

        using var whole = await edge.Viewer.GetAsync("/video.bin");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("Hit", whole.XCache());
        Assert.Equal(Size, whole.Content.Headers.ContentLength);
        Assert.Null(whole.Content.Headers.ContentRange);
        Assert.Equal("\"v7\"", whole.Headers.ETag!.Tag);
        Assert.Equal("application/octet-stream", whole.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Object, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal(3, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task Rfc9111_3_4_adjoining_pieces_are_combined_into_one_piece_until_the_whole_is_there()
    {
        await using var origin = await StartOrigin();
        await using var edge = await StartEdge(origin);
        (await GetRange(edge, "bytes=2000-3999")).Dispose();
        (await GetRange(edge, "bytes=4000-5999")).Dispose();

        using (var across = await GetRange(edge, "bytes=3990-4009"))
        {
            Assert.Equal("Hit", across.XCache());
            Assert.Equal($"bytes 3990-4009/{Size}", across.Header("Content-Range"));
            Assert.Equal(Object[3990..4010], await across.Content.ReadAsByteArrayAsync());
        }

        using var whole = await edge.Viewer.GetAsync("/video.bin");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(Object, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal(3, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task Rfc9111_3_4_pieces_with_a_gap_between_are_not_combined_the_newer_replaces()
    {
        await using var origin = await StartOrigin();
        await using var edge = await StartEdge(origin);
        (await GetRange(edge, "bytes=0-3999")).Dispose();
        (await GetRange(edge, "bytes=7000-9999")).Dispose();

        using (var newer = await GetRange(edge, "bytes=7500-7599"))
        {
            Assert.Equal("Hit", newer.XCache());
            Assert.Equal(Object[7500..7600], await newer.Content.ReadAsByteArrayAsync());
        }

        using var older = await GetRange(edge, "bytes=100-199");
        Assert.Equal("Miss", older.XCache());
        Assert.Equal(Object[100..200], await older.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("W/\"v7\"", "W/\"v7\"")]
    [InlineData("\"v7\"", "\"v8\"")]
    public async Task Rfc9111_3_4_pieces_with_weak_or_different_validators_are_not_combined_the_newer_replaces(string firstTag, string secondTag)
    {
        var tag = firstTag;
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            return Microsoft.AspNetCore.Http.Results.Bytes(Object, "application/octet-stream", enableRangeProcessing: true, entityTag: Microsoft.Net.Http.Headers.EntityTagHeaderValue.Parse(tag)).ExecuteAsync(ctx);
        });
        await using var edge = await StartEdge(origin);
        (await GetRange(edge, "bytes=0-4999")).Dispose();
        tag = secondTag;
        (await GetRange(edge, "bytes=5000-9999")).Dispose();

        using (var older = await GetRange(edge, "bytes=0-9"))
        {
            Assert.Equal("Miss", older.XCache());
        }

        using var whole = await edge.Viewer.GetAsync("/video.bin");
        Assert.Equal("Miss", whole.XCache());
        Assert.Equal(Object, await whole.Content.ReadAsByteArrayAsync());
    }

    /// <summary>An origin that honours Range (206 with a strong ETag) and otherwise sends the whole object.</summary>
    private static Task<TestOrigin> StartOrigin() => TestOrigin.StartAsync(ctx =>
    {
        ctx.Response.Headers.CacheControl = "max-age=600";
        return Microsoft.AspNetCore.Http.Results.Bytes(Object, "application/octet-stream", enableRangeProcessing: true, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue("\"v7\"")).ExecuteAsync(ctx);
    });

    /// <summary>A node whose behavior forwards the viewer's Range, so its own fetch can come back as a 206.</summary>
    private static Task<EdgeNode> StartEdge(TestOrigin origin) => EdgeNode.StartAsync(origin, o => o.Behaviors[0].OriginRequest.Headers.Add("Range"));

    private static Task<HttpResponseMessage> GetRange(EdgeNode edge, string range)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/video.bin");
        request.Headers.TryAddWithoutValidation("Range", range);
        return edge.Viewer.SendAsync(request);
    }
}
