using System.Net;
using System.Net.Http.Headers;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>Range and If-Range against a 5 MiB object, from the cache and while the object is still arriving.</summary>
public sealed class RangeTests
{
    private const int Size = 5 * 1024 * 1024;
    private static readonly byte[] Object = CollapsingTests.RandomBytes(Size, seed: 42);

    public static TheoryData<long, long> Spans => new()
    {
        { 0, 0 },
        { 0, 65535 },
        { 2 * 1024 * 1024, (3 * 1024 * 1024) - 1 },
        { Size - 1000, Size - 1 },
    };

    [Theory]
    [MemberData(nameof(Spans))]
    public async Task Ranges_at_the_start_middle_and_end_are_206_from_cache(long from, long to)
    {
        await using var origin = await StartOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();

        using var response = await GetRange(edge, from, to);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("Hit", response.XCache());
        Assert.Equal($"bytes {from}-{to}/{Size}", response.Header("Content-Range"));
        Assert.Equal(Object.AsSpan((int)from, (int)(to - from + 1)).ToArray(), await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task A_range_on_a_miss_is_served_as_soon_as_its_bytes_arrive()
    {
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.ContentLength = Size;
            await ctx.Response.Body.WriteAsync(Object.AsMemory(0, 1024 * 1024));
            await ctx.Response.Body.FlushAsync();
            await rest.Task;
            await ctx.Response.Body.WriteAsync(Object.AsMemory(1024 * 1024));
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);

        // The first MiB is all the origin has sent, and it is enough for this range.
        using var early = await GetRange(edge, 1000, 9999);
        Assert.Equal(HttpStatusCode.PartialContent, early.StatusCode);
        Assert.Equal(Object.AsSpan(1000, 9000).ToArray(), await early.Content.ReadAsByteArrayAsync());
        Assert.False(rest.Task.IsCompleted);

        var late = GetRange(edge, Size - 10, Size - 1);
        rest.SetResult();
        using var lateResponse = await late;
        Assert.Equal(Object.AsSpan(Size - 10).ToArray(), await lateResponse.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task Suffix_and_open_ended_ranges_resolve_against_the_length()
    {
        await using var origin = await StartOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();

        using var suffix = await Send(edge, "bytes=-500");
        Assert.Equal($"bytes {Size - 500}-{Size - 1}/{Size}", suffix.Header("Content-Range"));
        Assert.Equal(Object.AsSpan(Size - 500).ToArray(), await suffix.Content.ReadAsByteArrayAsync());

        using var open = await Send(edge, $"bytes={Size - 3}-");
        Assert.Equal(Object.AsSpan(Size - 3).ToArray(), await open.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Several_ranges_are_multipart_byteranges()
    {
        await using var origin = await StartOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();

        using var response = await Send(edge, "bytes=0-9, 100-109, -5");
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("multipart/byteranges", response.Content.Headers.ContentType!.MediaType);
        var boundary = response.Content.Headers.ContentType.Parameters.Single(p => p.Name == "boundary").Value!;
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(response.Content.Headers.ContentLength, body.Length);

        var reader = new Microsoft.AspNetCore.WebUtilities.MultipartReader(boundary, new MemoryStream(body));
        var parts = new List<(string Range, byte[] Data)>();
        while (await reader.ReadNextSectionAsync() is { } section)
        {
            using var data = new MemoryStream();
            await section.Body.CopyToAsync(data);
            parts.Add((section.Headers!["Content-Range"].ToString(), data.ToArray()));
        }

        Assert.Equal(3, parts.Count);
        Assert.Equal([$"bytes 0-9/{Size}", $"bytes 100-109/{Size}", $"bytes {Size - 5}-{Size - 1}/{Size}"], parts.Select(p => p.Range));
        Assert.Equal(Object[..10], parts[0].Data);
        Assert.Equal(Object[100..110], parts[1].Data);
        Assert.Equal(Object[^5..], parts[2].Data);
    }

    [Fact]
    public async Task Sixteen_overlapping_ranges_get_one_copy_of_the_object_not_sixteen()
    {
        await using var origin = await StartOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();

        using var response = await Send(edge, "bytes=" + string.Join(",", Enumerable.Repeat("0-", 16)));
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes 0-{Size - 1}/{Size}", response.Header("Content-Range"));
        Assert.Equal(Object, body);
    }

    [Fact]
    public async Task Overlapping_and_adjacent_ranges_are_served_as_one_part_each()
    {
        await using var origin = await StartOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();

        using var response = await Send(edge, "bytes=5000-5999,0-99,50-199,200-299,5500-");
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        var boundary = response.Content.Headers.ContentType!.Parameters.Single(p => p.Name == "boundary").Value!;
        var reader = new Microsoft.AspNetCore.WebUtilities.MultipartReader(boundary, new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        var parts = new List<string>();
        while (await reader.ReadNextSectionAsync() is { } section)
        {
            parts.Add(section.Headers!["Content-Range"].ToString());
        }

        Assert.Equal([$"bytes 5000-{Size - 1}/{Size}", $"bytes 0-299/{Size}"], parts);
    }

    [Fact]
    public async Task More_ranges_than_the_limit_get_the_whole_object()
    {
        await using var origin = await StartOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();

        using var response = await Send(edge, "bytes=" + string.Join(",", Enumerable.Range(0, 17).Select(i => $"{i * 1000}-{i * 1000}")));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Size, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Unsatisfiable_ranges_get_416_with_the_length()
    {
        await using var origin = await StartOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();
        using var response = await Send(edge, $"bytes={Size}-{Size + 10}");
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{Size}", response.Header("Content-Range"));
    }

    [Fact]
    public async Task If_range_with_a_different_validator_gets_the_whole_object()
    {
        await using var origin = await StartOrigin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 16 * 1024 * 1024);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();

        using var stale = new HttpRequestMessage(HttpMethod.Get, "/video.bin");
        stale.Headers.Range = new RangeHeaderValue(0, 9);
        stale.Headers.TryAddWithoutValidation("If-Range", "\"old\"");
        using var full = await edge.Viewer.SendAsync(stale);
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        Assert.Equal(Size, full.Content.Headers.ContentLength);

        using var current = new HttpRequestMessage(HttpMethod.Get, "/video.bin");
        current.Headers.Range = new RangeHeaderValue(0, 9);
        current.Headers.TryAddWithoutValidation("If-Range", "\"v42\"");
        using var partial = await edge.Viewer.SendAsync(current);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
    }

    [Fact]
    public async Task A_range_for_an_object_passed_through_as_too_large_is_206()
    {
        // No disk tier and an object over maxObjectBytes: it is streamed through, never stored.
        await using var origin = await TestOrigin.StartAsync(ctx =>
            Microsoft.AspNetCore.Http.Results.Bytes(Object, "application/octet-stream", enableRangeProcessing: true, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue("\"v42\"")).ExecuteAsync(ctx));
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.MaxObjectBytes = 1024 * 1024);

        using (var response = await GetRange(edge, 1000, 1999))
        {
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            Assert.Equal($"bytes 1000-1999/{Size}", response.Header("Content-Range"));
            Assert.Equal(Object.AsSpan(1000, 1000).ToArray(), await response.Content.ReadAsByteArrayAsync());
            Assert.Contains("detail=too-large", response.Header("Cache-Status"), StringComparison.Ordinal);
        }

        Assert.Contains(origin.Requests, r => r.Headers.TryGetValue("Range", out var range) && range == "bytes=1000-1999");

        using var tail = await Send(edge, "bytes=-10");
        Assert.Equal(HttpStatusCode.PartialContent, tail.StatusCode);
        Assert.Equal(Object[^10..], await tail.Content.ReadAsByteArrayAsync());

        using var whole = await edge.Viewer.GetAsync("/video.bin");
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(Object, await whole.Content.ReadAsByteArrayAsync());
    }

    private static Task<TestOrigin> StartOrigin() => TestOrigin.StartAsync(async ctx =>
    {
        ctx.Response.Headers.CacheControl = "max-age=600";
        ctx.Response.Headers.ETag = "\"v42\"";
        ctx.Response.ContentType = "application/octet-stream";
        ctx.Response.ContentLength = Size;
        await ctx.Response.Body.WriteAsync(Object);
    });

    private static Task<HttpResponseMessage> GetRange(EdgeNode edge, long from, long to) => Send(edge, $"bytes={from}-{to}");

    private static async Task<HttpResponseMessage> Send(EdgeNode edge, string range)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/video.bin");
        request.Headers.TryAddWithoutValidation("Range", range);
        return await edge.Viewer.SendAsync(request);
    }
}
