using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Observability;
using EdgeCache.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// An origin that answers with bytes no well-behaved server would send: the node either relays something every
/// viewer can read, or answers 502 and stores nothing. Never a 500, a half object served as whole, or a log that
/// says otherwise.
/// </summary>
public sealed class HostileOriginTests
{
    private const string Cacheable = "Cache-Control: max-age=600";

    [Fact]
    public async Task Obs_text_in_an_origin_header_reaches_every_viewer_byte_for_byte()
    {
        var disposition = "attachment; filename=\"café.txt\"";
        // The origin sends the UTF-8 bytes; RawOrigin writes one byte per char.
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "file", Cacheable, "Content-Disposition: " + Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(disposition))));
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/cafe");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/cafe");

        foreach (var response in new[] { first, second })
        {
            Assert.Equal(200, response.Status);
            Assert.Equal("file", response.BodyText);
            Assert.Equal(Encoding.UTF8.GetBytes(disposition), response.HeaderBytes("Content-Disposition"));
        }

        Assert.Equal("Hit", second.Header("X-Cache"));
        Assert.Equal(1, origin.Count("/cafe"));
    }

    [Theory]
    [InlineData("a\u0001b", null)]
    [InlineData("a\u001fb", null)]
    [InlineData("a\u007fb", null)]
    [InlineData("a\u0000b\u007f", null)]
    // The origin client replaces a NUL with SP as it reads the line (RFC 9110 5.5 allows either that or rejecting it).
    [InlineData("a\u0000b", "a b")]
    public async Task An_origin_header_with_a_control_character_is_dropped_and_the_response_served(string value, string? relayed)
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "body", Cacheable, "X-A: " + value, "X-B: tab\there", "X-C: fine"));
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/ctl");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/ctl");

        foreach (var response in new[] { first, second })
        {
            Assert.Equal(200, response.Status);
            Assert.Equal("body", response.BodyText);
            Assert.Equal(relayed, response.Header("X-A"));
            // HTAB is field content (RFC 9110 5.5), not a control character to drop.
            Assert.Equal("tab\there", response.Header("X-B"));
            Assert.Equal("fine", response.Header("X-C"));
        }

        Assert.Equal("Hit", second.Header("X-Cache"));
    }

    [Fact]
    public async Task A_response_that_fails_while_it_is_served_is_logged_and_counted_as_the_500_the_viewer_got()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "unused", Cacheable));
        CapturedJsonLog? log = null;
        await using var edge = await StartNodeAsync(
            origin,
            o => o.AccessLog.Enabled = true,
            logging => CapturedJsonLog.AddTo(logging, "EdgeCache.AccessLog", capture => log = capture));

        // A stored entry Kestrel refuses to send (a control character in a header value): whatever let it in, serving it fails.
        edge.Get<MemoryCacheStore>().Store("0|/unservable", new CacheEntry
        {
            StatusCode = 200,
            Headers = [new("Cache-Control", "max-age=600"), new("X-Bad", "a\u0001b")],
            Body = CachedBody.FromBytes("stored"u8),
            RequestTime = edge.Time.GetUtcNow(),
            ResponseTime = edge.Time.GetUtcNow(),
            CorrectedInitialAge = TimeSpan.Zero,
            FreshnessLifetime = TimeSpan.FromMinutes(10),
            CacheControl = CacheControl.Parse("max-age=600"),
            VaryNames = [],
            SecondaryKey = "",
        });

        var response = await RawViewer.GetAsync(edge.ViewerPort, "/unservable");

        Assert.Equal(500, response.Status);
        Assert.NotNull(log);
        await CachingTests.Eventually(() => !log.Lines.IsEmpty);
        using var line = JsonDocument.Parse(Assert.Single(log.Lines));
        var state = line.RootElement.GetProperty("State");
        Assert.Equal("500", state.GetProperty("Status").ToString());
        Assert.Equal("error", state.GetProperty("CacheStatus").GetString());
        var metrics = edge.Get<EdgeCacheMetrics>();
        Assert.Equal(1, metrics.Requests.WithLabels("error").Value);
        Assert.Equal(0, metrics.Requests.WithLabels("hit").Value);
        Assert.Empty(origin.Requests);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nCache-Control: max-age=600\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nCache-Control: max-age=600\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 3\r\nCache-Control: max-age=600\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 5, 3\r\nCache-Control: max-age=600\r\n\r\nhello")]
    [InlineData("HTTP/1.1 999 Odd\r\nContent-Length: 5\r\nCache-Control: max-age=600\r\n\r\nhello")]
    [InlineData("HTTP/1.1 600 Odd\r\nContent-Length: 5\r\nCache-Control: max-age=600\r\n\r\nhello")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")]
    [InlineData("HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\nCache-Control: max-age=600\r\n\r\n")]
    [InlineData("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/10\r\nContent-Length: 5\r\nCache-Control: max-age=600\r\n\r\nhello")]
    public async Task A_response_the_node_cannot_relay_faithfully_is_a_502_and_is_not_stored(string response)
    {
        await using var origin = RawOrigin.Start(response);
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/bad");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/bad");

        Assert.Equal(502, first.Status);
        Assert.True(first.Complete, "a 502 is a whole response, not a dropped connection");
        Assert.Equal(502, second.Status);
        Assert.Equal(2, origin.Count("/bad"));
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("HTTP/1.1 999 Odd\r\nContent-Length: 5\r\n\r\nhello")]
    [InlineData("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")]
    [InlineData("HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n")]
    [InlineData("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/10\r\nContent-Length: 5\r\n\r\nhello")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")]
    public async Task Forwarded_requests_get_a_502_for_the_same_bad_responses(string response)
    {
        await using var origin = RawOrigin.Start(response);
        await using var edge = await StartNodeAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"]);

        var post = await RawViewer.SendAsync(edge.ViewerPort, "POST /form HTTP/1.1\r\nHost: edge\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
        var noStore = await RawViewer.GetAsync(edge.ViewerPort, "/pass", "Cache-Control: no-store");

        Assert.Equal(502, post.Status);
        Assert.True(post.Complete);
        Assert.Equal(502, noStore.Status);
        Assert.True(noStore.Complete);
    }

    [Fact]
    public async Task A_corrupt_chunk_before_any_byte_reached_the_viewer_is_a_502_and_is_not_stored()
    {
        await using var origin = RawOrigin.Start("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nCache-Control: max-age=600\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/corrupt");
        var second = await RawViewer.GetAsync(edge.ViewerPort, "/corrupt");

        Assert.Equal(502, first.Status);
        Assert.True(first.Complete);
        Assert.Equal(502, second.Status);
        Assert.Equal(2, origin.Count("/corrupt"));
    }

    [Fact]
    public async Task A_corrupt_chunk_after_bytes_reached_the_viewer_aborts_its_connection()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = RawOrigin.Start(async (_, connection) =>
        {
            await connection.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nCache-Control: max-age=600\r\n\r\n5\r\nhello\r\n");
            await gate.Task;
            await connection.WriteAsync("zz\r\nworld\r\n0\r\n\r\n");
        });
        await using var edge = await StartNodeAsync(origin);

        using var response = await edge.Viewer.GetAsync("/late", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[5];
        await body.ReadExactlyAsync(buffer);
        Assert.Equal("hello", Encoding.ASCII.GetString(buffer));
        gate.SetResult();

        await Assert.ThrowsAnyAsync<IOException>(async () => await body.CopyToAsync(Stream.Null));
    }

    [Fact]
    public async Task A_304_with_a_different_etag_does_not_refresh_the_stored_response_and_is_refetched()
    {
        var unconditional = 0;
        await using var origin = RawOrigin.Start((request, connection) => connection.WriteAsync(
            request.Has("If-None-Match") ? RawOrigin.Response(304, "", "Cache-Control: max-age=600", "ETag: \"b\"", "X-New: 1")
            : unconditional++ == 0 ? RawOrigin.Response(200, "old", "Cache-Control: max-age=60", "ETag: \"a\"")
            : RawOrigin.Response(200, "new", "Cache-Control: max-age=600", "ETag: \"b\"")));
        await using var edge = await StartNodeAsync(origin);

        var first = await RawViewer.GetAsync(edge.ViewerPort, "/v");
        Assert.Equal("old", first.BodyText);
        edge.Time.Advance(TimeSpan.FromSeconds(120));

        var revalidated = await RawViewer.GetAsync(edge.ViewerPort, "/v");
        var hit = await RawViewer.GetAsync(edge.ViewerPort, "/v");

        Assert.Equal(200, revalidated.Status);
        Assert.Equal("new", revalidated.BodyText);
        Assert.Equal("\"b\"", revalidated.Header("ETag"));
        Assert.Null(revalidated.Header("X-New"));
        Assert.Equal("new", hit.BodyText);
        Assert.Equal("Hit", hit.Header("X-Cache"));
        var requests = origin.Requests.ToArray();
        Assert.Equal(3, requests.Length);
        Assert.Equal("\"a\"", requests[1].Header("If-None-Match"));
        Assert.False(requests[2].Has("If-None-Match"), "the refetch is unconditional");
        Assert.False(requests[2].Has("If-Modified-Since"));
    }

    [Theory]
    [InlineData("Last-Modified: Tue, 01 Jan 2030 00:00:00 GMT", true)]
    [InlineData("Last-Modified: Wed, 02 Jan 2030 00:00:00 GMT", false)]
    [InlineData("ETag: \"x\"", false)]
    [InlineData("X-Nothing: 1", true)]
    public async Task A_304_to_a_last_modified_revalidation_refreshes_only_when_its_validator_matches(string notModifiedValidator, bool refreshes)
    {
        const string lastModified = "Last-Modified: Tue, 01 Jan 2030 00:00:00 GMT";
        var served = 0;
        await using var origin = RawOrigin.Start((request, connection) =>
        {
            var conditional = request.Has("If-Modified-Since");
            var text = conditional
                ? RawOrigin.Response(304, "", "Cache-Control: max-age=600", notModifiedValidator)
                : RawOrigin.Response(200, served++ == 0 ? "old" : "new", "Cache-Control: max-age=60", lastModified);
            return connection.WriteAsync(text);
        });
        await using var edge = await StartNodeAsync(origin);

        Assert.Equal("old", (await RawViewer.GetAsync(edge.ViewerPort, "/lm")).BodyText);
        edge.Time.Advance(TimeSpan.FromSeconds(120));
        var revalidated = await RawViewer.GetAsync(edge.ViewerPort, "/lm");

        Assert.Equal(200, revalidated.Status);
        var requests = origin.Requests.ToArray();
        Assert.Equal("Tue, 01 Jan 2030 00:00:00 GMT", requests[1].Header("If-Modified-Since"));
        if (refreshes)
        {
            Assert.Equal("RefreshHit", revalidated.Header("X-Cache"));
            Assert.Equal("old", revalidated.BodyText);
            Assert.Equal(2, requests.Length);
        }
        else
        {
            Assert.Equal("new", revalidated.BodyText);
            Assert.Equal(3, requests.Length);
            Assert.False(requests[2].Has("If-Modified-Since"));
        }
    }

    [Fact]
    public async Task The_origin_is_asked_for_identity_unless_the_behavior_forwards_the_viewers_accept_encoding()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "x", Cacheable));
        await using var edge = await StartNodeAsync(origin, o =>
        {
            o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"];
            o.Behaviors.Insert(0, new BehaviorOptions { PathPattern = "/fwd/*", Origin = "origin", OriginRequest = new OriginRequestOptions { Headers = ["Accept-Encoding"] } });
        });

        await RawViewer.GetAsync(edge.ViewerPort, "/cached", "Accept-Encoding: gzip, br");
        await RawViewer.GetAsync(edge.ViewerPort, "/passed", "Accept-Encoding: gzip", "Cache-Control: no-store");
        await RawViewer.SendAsync(edge.ViewerPort, "POST /posted HTTP/1.1\r\nHost: edge\r\nAccept-Encoding: gzip\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx");
        await RawViewer.GetAsync(edge.ViewerPort, "/fwd/a", "Accept-Encoding: gzip, br");
        await RawViewer.GetAsync(edge.ViewerPort, "/fwd/b");

        var seen = origin.Requests.ToDictionary(r => r.Target, r => r.Header("Accept-Encoding"));
        Assert.Equal("identity", seen["/cached"]);
        Assert.Equal("identity", seen["/passed"]);
        Assert.Equal("identity", seen["/posted"]);
        Assert.Equal("gzip, br", seen["/fwd/a"]);
        Assert.Equal("identity", seen["/fwd/b"]);
    }

    [Fact]
    public async Task A_coding_the_origin_sends_unasked_reaches_only_viewers_that_accept_it()
    {
        var text = string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog\n", 100));
        var gzipped = Gzip(Encoding.ASCII.GetBytes(text));
        await using var origin = RawOrigin.Start(async (_, connection) =>
        {
            await connection.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nETag: \"z\"\r\n{Cacheable}\r\nContent-Length: {gzipped.Length}\r\n\r\n");
            await connection.WriteAsync(gzipped);
        });
        await using var edge = await StartNodeAsync(origin);

        var accepts = await RawViewer.GetAsync(edge.ViewerPort, "/z", "Accept-Encoding: gzip, deflate");
        var identity = await RawViewer.GetAsync(edge.ViewerPort, "/z", "Accept-Encoding: identity");
        var brOnly = await RawViewer.GetAsync(edge.ViewerPort, "/z", "Accept-Encoding: br");
        var refuses = await RawViewer.GetAsync(edge.ViewerPort, "/z", "Accept-Encoding: gzip;q=0, br");
        var none = await RawViewer.GetAsync(edge.ViewerPort, "/z");

        Assert.Equal("gzip", accepts.Header("Content-Encoding"));
        Assert.Equal(gzipped, accepts.Body);
        foreach (var plain in new[] { identity, brOnly, refuses, none })
        {
            Assert.Equal(200, plain.Status);
            Assert.True(plain.Complete);
            Assert.Null(plain.Header("Content-Encoding"));
            Assert.Equal(text, plain.BodyText);
            // Not the bytes the strong validator names.
            Assert.Equal("W/\"z\"", plain.Header("ETag"));
        }

        Assert.All(new[] { accepts, identity, none }, r => Assert.Contains("Accept-Encoding", string.Join(",", r.Headers("Vary")), StringComparison.OrdinalIgnoreCase));
        Assert.Equal(1, origin.Count("/z"));
    }

    [Fact]
    public async Task A_coding_the_node_cannot_decode_is_406_for_a_viewer_that_refuses_it()
    {
        await using var origin = RawOrigin.Start(RawOrigin.Response(200, "zstd-bytes", Cacheable, "Content-Encoding: zstd"));
        await using var edge = await StartNodeAsync(origin);

        var accepts = await RawViewer.GetAsync(edge.ViewerPort, "/zstd", "Accept-Encoding: zstd, gzip");
        var refuses = await RawViewer.GetAsync(edge.ViewerPort, "/zstd", "Accept-Encoding: gzip");

        Assert.Equal(200, accepts.Status);
        Assert.Equal("zstd", accepts.Header("Content-Encoding"));
        Assert.Equal("zstd-bytes", accepts.BodyText);
        Assert.Equal(406, refuses.Status);
        Assert.Null(refuses.Header("Content-Encoding"));
        Assert.Contains("zstd", refuses.BodyText, StringComparison.Ordinal);
        Assert.Equal(1, origin.Count("/zstd"));
    }

    [Fact]
    public async Task A_coding_the_origin_sends_unasked_on_a_pass_through_is_decoded_for_a_viewer_that_refuses_it()
    {
        var gzipped = Gzip("private text"u8.ToArray());
        await using var origin = RawOrigin.Start(async (_, connection) =>
        {
            await connection.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nCache-Control: private\r\nContent-Length: {gzipped.Length}\r\n\r\n");
            await connection.WriteAsync(gzipped);
        });
        await using var edge = await StartNodeAsync(origin);

        var identity = await RawViewer.GetAsync(edge.ViewerPort, "/p", "Accept-Encoding: identity");
        var accepts = await RawViewer.GetAsync(edge.ViewerPort, "/p", "Accept-Encoding: gzip");

        Assert.Null(identity.Header("Content-Encoding"));
        Assert.Equal("private text", identity.BodyText);
        Assert.Equal(gzipped, accepts.Body);
    }

    [Fact]
    public async Task A_content_range_on_a_200_is_dropped_before_it_is_stored_or_relayed()
    {
        await using var origin = RawOrigin.Start((request, connection) => connection.WriteAsync(
            RawOrigin.Response(200, string.Concat(Enumerable.Repeat("0123456789", 20)), request.Target == "/private" ? "Cache-Control: private" : Cacheable, "Content-Range: bytes 0-199/200", "Content-Type: text/plain")));
        await using var edge = await StartNodeAsync(origin);

        var miss = await RawViewer.GetAsync(edge.ViewerPort, "/cr");
        var hit = await RawViewer.GetAsync(edge.ViewerPort, "/cr");
        // Far enough apart that the node does not merge them into one part.
        var multipart = await RawViewer.GetAsync(edge.ViewerPort, "/cr", "Range: bytes=0-1,150-151");
        var passed = await RawViewer.GetAsync(edge.ViewerPort, "/private");

        Assert.Equal(200, miss.Status);
        Assert.Null(miss.Header("Content-Range"));
        Assert.Equal("Hit", hit.Header("X-Cache"));
        Assert.Null(hit.Header("Content-Range"));
        Assert.Equal(206, multipart.Status);
        Assert.StartsWith("multipart/byteranges", multipart.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Null(multipart.Header("Content-Range"));
        Assert.Equal(200, passed.Status);
        Assert.Null(passed.Header("Content-Range"));
    }

    [Fact]
    public async Task The_nodes_via_entry_is_appended_to_the_origins()
    {
        await using var origin = RawOrigin.Start((request, connection) => connection.WriteAsync(
            RawOrigin.Response(200, "v", request.Target == "/private" ? "Cache-Control: private" : Cacheable, "Via: 1.1 upstream-proxy")));
        await using var edge = await StartNodeAsync(origin);

        var miss = await RawViewer.GetAsync(edge.ViewerPort, "/via");
        var hit = await RawViewer.GetAsync(edge.ViewerPort, "/via");
        var passed = await RawViewer.GetAsync(edge.ViewerPort, "/private");

        foreach (var response in new[] { miss, hit, passed })
        {
            Assert.Equal("1.1 upstream-proxy, 1.1 edge-test (EdgeCache)", string.Join(", ", response.Headers("Via")));
        }

        Assert.Equal("Hit", hit.Header("X-Cache"));
    }

    [Fact]
    public async Task Cache_status_says_stored_only_for_a_response_that_was_stored()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = RawOrigin.Start(async (request, connection) =>
        {
            if (request.Target == "/small")
            {
                await connection.WriteAsync(RawOrigin.Response(200, "small", Cacheable));
                return;
            }

            await connection.WriteAsync($"HTTP/1.1 200 OK\r\n{Cacheable}\r\nContent-Length: 10\r\n\r\nhello");
            await gate.Task;
            await connection.WriteAsync("world");
        });
        await using var edge = await StartNodeAsync(origin);

        using var response = await edge.Viewer.GetAsync("/purged", HttpCompletionOption.ResponseHeadersRead);
        // A purge lands while the body is still arriving: the fetch must not store it.
        edge.Get<Admin.PurgeService>().Purge(Purging.PurgeMatcher.TryCreate(new Purging.PurgeRequest { Paths = ["/purged"] }, out _)!);
        gate.SetResult();
        Assert.Equal("helloworld", await response.Content.ReadAsStringAsync());
        var small = await RawViewer.GetAsync(edge.ViewerPort, "/small");
        var again = await RawViewer.GetAsync(edge.ViewerPort, "/purged");

        Assert.DoesNotContain("stored", response.Header("Cache-Status"), StringComparison.Ordinal);
        Assert.Equal("Miss", again.Header("X-Cache"));
        Assert.Equal(2, origin.Count("/purged"));
        Assert.EndsWith("; stored", small.Header("Cache-Status"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(141, false)]
    [InlineData(1023, false)]
    [InlineData(4000, true)]
    public async Task A_chunked_body_is_compressed_only_from_the_minimum_size(int size, bool compressed)
    {
        var text = new string('a', size);
        await using var origin = RawOrigin.Start(async (_, connection) =>
        {
            await connection.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{Cacheable}\r\nTransfer-Encoding: chunked\r\n\r\n");
            // In two chunks, the second after a pause, so the node cannot see the end with the first read.
            await connection.WriteAsync($"{size / 2:x}\r\n{text[..(size / 2)]}\r\n");
            await Task.Delay(50);
            await connection.WriteAsync($"{size - (size / 2):x}\r\n{text[(size / 2)..]}\r\n0\r\n\r\n");
        });
        await using var edge = await StartNodeAsync(origin, o => o.Behaviors[0].Compress = true);

        var response = await RawViewer.GetAsync(edge.ViewerPort, "/small.txt", "Accept-Encoding: gzip");

        Assert.Equal(200, response.Status);
        Assert.True(response.Complete);
        if (compressed)
        {
            Assert.Equal("gzip", response.Header("Content-Encoding"));
            Assert.True(response.Body.Length < size);
            Assert.Equal(text, Encoding.ASCII.GetString(Gunzip(response.Body)));
        }
        else
        {
            Assert.Null(response.Header("Content-Encoding"));
            Assert.Equal(text, response.BodyText);
        }
    }

    private static Task<EdgeNode> StartNodeAsync(RawOrigin origin, Action<EdgeCacheOptions>? configure = null, Action<ILoggingBuilder>? logging = null) =>
        EdgeNode.StartAsync(
            o =>
            {
                o.Origins.Add(new OriginOptions { Id = "origin", Type = "http", Url = origin.Url, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
                o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "origin" });
                configure?.Invoke(o);
            },
            logging);

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress))
        {
            gzip.CopyTo(output);
        }

        return output.ToArray();
    }
}
