using System.Net;
using Amazon.S3.Model;
using EdgeCache.Configuration;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>The S3 origin against a real S3-compatible server (s3rver) on loopback, signed by the SDK's default chain.</summary>
[Collection(S3Collection.Name)]
public sealed class S3OriginTests
{
    private const string Bucket = "edge-origin";

    [Fact]
    public async Task Objects_are_fetched_once_then_served_from_cache_with_s3_metadata()
    {
        await using var s3 = await S3rverProcess.StartAsync(Bucket);
        using var client = s3.CreateClient();
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = Bucket,
            Key = "assets/app.js",
            ContentBody = "console.log('edge');",
            ContentType = "application/javascript",
            Headers = { CacheControl = "public, max-age=300" },
            UseChunkEncoding = false,
        });
        await using var edge = await StartEdge(s3, keyPrefix: "assets");

        using var first = await edge.Viewer.GetAsync("/app.js");
        using var second = await edge.Viewer.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("Miss", first.XCache());
        Assert.Equal("Hit", second.XCache());
        Assert.Equal("console.log('edge');", await second.Content.ReadAsStringAsync());
        Assert.Equal("application/javascript", second.Header("Content-Type"));
        Assert.Equal("public, max-age=300", second.Header("Cache-Control"));
        Assert.NotEqual("", second.Header("ETag"));
    }

    [Fact]
    public async Task Missing_keys_are_404_and_paths_cannot_leave_the_key_prefix()
    {
        await using var s3 = await S3rverProcess.StartAsync(Bucket);
        using var client = s3.CreateClient();
        await client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "private/secret.txt", ContentBody = "secret", UseChunkEncoding = false });
        await using var edge = await StartEdge(s3, keyPrefix: "public");

        using var missing = await edge.Viewer.GetAsync("/nope.txt");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // A missing key is cached briefly (S3 sends no cache headers for it), not for the behavior's default TTL of a
        // day: an object uploaded afterwards is served within seconds.
        await client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "public/nope.txt", ContentBody = "here now", UseChunkEncoding = false });
        using (var cachedMiss = await edge.Viewer.GetAsync("/nope.txt"))
        {
            Assert.Equal(HttpStatusCode.NotFound, cachedMiss.StatusCode);
            Assert.Equal("Hit", cachedMiss.XCache());
        }

        edge.Time.Advance(TimeSpan.FromSeconds(11));
        using (var uploaded = await edge.Viewer.GetAsync("/nope.txt"))
        {
            Assert.Equal(HttpStatusCode.OK, uploaded.StatusCode);
            Assert.Equal("here now", await uploaded.Content.ReadAsStringAsync());
        }

        using var escape = await edge.Viewer.GetAsync("/..%2fprivate%2fsecret.txt");
        Assert.NotEqual(HttpStatusCode.OK, escape.StatusCode);
        Assert.DoesNotContain("secret", await escape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Expired_objects_are_revalidated_with_if_none_match_and_refreshed_on_304()
    {
        await using var s3 = await S3rverProcess.StartAsync(Bucket);
        using var client = s3.CreateClient();
        await client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = Bucket,
            Key = "doc.txt",
            ContentBody = "v1",
            Headers = { CacheControl = "max-age=10" },
            UseChunkEncoding = false,
        });
        await using var edge = await StartEdge(s3, keyPrefix: null);
        (await edge.Viewer.GetAsync("/doc.txt")).Dispose();
        edge.Time.Advance(TimeSpan.FromSeconds(30));
        using var refreshed = await edge.Viewer.GetAsync("/doc.txt");
        Assert.True(refreshed.XCache() == "RefreshHit", refreshed.Header("Cache-Status") + " / " + refreshed.Header("ETag"));
        Assert.Equal("v1", await refreshed.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_unreachable_bucket_endpoint_gives_502_and_readiness_reports_it_without_failing()
    {
        var deadPort = FreePort.Next();
        await using var edge = await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions { Id = "bucket", Type = "s3", Bucket = Bucket, Region = "us-east-1", ServiceUrl = $"http://127.0.0.1:{deadPort}", ForcePathStyle = true, ReadTimeoutMs = 3000 });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "bucket" });
        });
        using var response = await edge.Viewer.GetAsync("/x");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await edge.Get<Origins.OriginHealthMonitor>().ProbeAllAsync(CancellationToken.None);
        using var ready = await edge.Admin.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        var bucket = json.RootElement.GetProperty("origins").GetProperty("bucket");
        Assert.False(bucket.GetProperty("up").GetBoolean());
        Assert.Equal("connect", bucket.GetProperty("lastError").GetProperty("kind").GetString());
    }

    [Theory]
    [InlineData(403, "ExpiredToken")]
    [InlineData(403, "InvalidAccessKeyId")]
    [InlineData(403, "SignatureDoesNotMatch")]
    [InlineData(400, "ExpiredToken")]
    public async Task Refused_credentials_are_an_origin_failure_not_a_cached_404(int status, string code)
    {
        // s3rver checks no signatures, so S3's refusal is played by a loopback server answering as S3 does.
        await using var fakeS3 = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/xml";
            ctx.Response.Headers["x-amz-request-id"] = "TEST";
            await ctx.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>refused</Message><RequestId>TEST</RequestId></Error>");
        });
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.SecretKey);
        await using var edge = await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions { Id = "bucket", Type = "s3", Bucket = Bucket, Region = "us-east-1", ServiceUrl = fakeS3.Url, ForcePathStyle = true });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "bucket" });
        });

        using var first = await edge.Viewer.GetAsync("/app.js");
        using var second = await edge.Viewer.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, second.StatusCode);
        Assert.Equal(0, edge.Get<Caching.MemoryCacheStore>().Count);
        Assert.False((await edge.Get<Origins.OriginRegistry>()["bucket"].ProbeAsync(CancellationToken.None)).Up);
    }

    [Theory]
    [InlineData(403, "AccessDenied")]
    [InlineData(403, "InvalidObjectState")]
    [InlineData(400, "KMS.DisabledException")]
    [InlineData(400, "KMS.KMSInvalidStateException")]
    public async Task A_refused_read_is_an_origin_failure_not_a_cached_404(int status, string code)
    {
        // s3rver checks no policies or KMS keys, so S3's refusal is played by a loopback server answering as S3 does.
        await using var fakeS3 = await TestOrigin.StartAsync(ctx => AnswerS3Error(ctx, status, code));
        await using var edge = await StartEdge(fakeS3.Url, Bucket);

        using var first = await edge.Viewer.GetAsync("/app.js");
        using var second = await edge.Viewer.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, second.StatusCode);
        Assert.Equal("Error", second.XCache());
        Assert.Contains("detail=access_denied", second.Header("Cache-Status"), StringComparison.Ordinal);
        Assert.Equal(0, edge.Get<Caching.MemoryCacheStore>().Count);
        Assert.Equal(2, fakeS3.Requests.Count(r => r.Path.EndsWith("/app.js", StringComparison.Ordinal)));

        var metrics = await edge.Admin.GetStringAsync("/metrics");
        Assert.Contains("edgecache_origin_errors_total{origin=\"bucket\",kind=\"access_denied\"} 2", metrics, StringComparison.Ordinal);

        // /readyz reports it (and stays ready): first the viewers' fetches, then the probe, which S3 refuses too.
        using (var json = System.Text.Json.JsonDocument.Parse(await edge.Admin.GetStringAsync("/readyz")))
        {
            var error = json.RootElement.GetProperty("origins").GetProperty("bucket").GetProperty("lastError");
            Assert.Equal("fetch", error.GetProperty("during").GetString());
            Assert.Equal("access_denied", error.GetProperty("kind").GetString());
            Assert.Contains(code, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        await edge.Get<Origins.OriginHealthMonitor>().ProbeAllAsync(CancellationToken.None);
        using var ready = await edge.Admin.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var probed = System.Text.Json.JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        var bucket = probed.RootElement.GetProperty("origins").GetProperty("bucket");
        Assert.False(bucket.GetProperty("up").GetBoolean());
        Assert.Equal("probe", bucket.GetProperty("lastError").GetProperty("during").GetString());
        Assert.Equal("access_denied", bucket.GetProperty("lastError").GetProperty("kind").GetString());
        Assert.Contains("edgecache_origin_up{origin=\"bucket\"} 0", await edge.Admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_read_serves_the_stale_copy_within_stale_if_error()
    {
        var refuse = false;
        await using var fakeS3 = await TestOrigin.StartAsync(async ctx =>
        {
            if (refuse)
            {
                await AnswerS3Error(ctx, 403, "AccessDenied");
                return;
            }

            ctx.Response.Headers.CacheControl = "max-age=10, stale-if-error=600";
            ctx.Response.Headers.ETag = "\"5d41402abc4b2a76b9719d911017c592\"";
            ctx.Response.ContentType = "text/plain";
            ctx.Response.ContentLength = "version one".Length;
            await ctx.Response.WriteAsync("version one");
        });
        await using var edge = await StartEdge(fakeS3.Url, Bucket);
        using (var miss = await edge.Viewer.GetAsync("/doc.txt"))
        {
            Assert.Equal("version one", await miss.Content.ReadAsStringAsync());
        }

        refuse = true;
        edge.Time.Advance(TimeSpan.FromSeconds(30));
        using var stale = await edge.Viewer.GetAsync("/doc.txt");
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal("Stale", stale.XCache());
        Assert.Contains("detail=stale-if-error", stale.Header("Cache-Status"), StringComparison.Ordinal);
        Assert.Equal("version one", await stale.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_bucket_that_does_not_exist_is_an_origin_failure_not_every_key_missing()
    {
        await using var s3 = await S3rverProcess.StartAsync(Bucket);
        await using var edge = await StartEdge(s3.ServiceUrl, "no-such-bucket");

        using var first = await edge.Viewer.GetAsync("/app.js");
        using var second = await edge.Viewer.GetAsync("/app.js");
        Assert.Equal(HttpStatusCode.BadGateway, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, second.StatusCode);
        Assert.Contains("detail=no_such_bucket", second.Header("Cache-Status"), StringComparison.Ordinal);
        Assert.Equal(0, edge.Get<Caching.MemoryCacheStore>().Count);
        Assert.Contains("edgecache_origin_errors_total{origin=\"bucket\",kind=\"no_such_bucket\"} 2", await edge.Admin.GetStringAsync("/metrics"), StringComparison.Ordinal);
        Assert.False((await edge.Get<Origins.OriginRegistry>()["bucket"].ProbeAsync(CancellationToken.None)).Up);
    }

    [Fact]
    public async Task A_missing_key_stays_a_404_the_probe_counts_as_up()
    {
        await using var s3 = await S3rverProcess.StartAsync(Bucket);
        await using var edge = await StartEdge(s3, keyPrefix: null);

        using var missing = await edge.Viewer.GetAsync("/nope.txt");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("max-age=10", missing.Header("Cache-Control"));
        Assert.True((await edge.Get<Origins.OriginRegistry>()["bucket"].ProbeAsync(CancellationToken.None)).Up);
    }

    [Fact]
    public async Task A_response_the_sdk_cannot_parse_is_an_origin_failure_and_does_not_stop_the_node()
    {
        // S3's ETag is the hex MD5 of the object (for single-part uploads); the SDK decodes it, and a server that sends
        // anything else makes the SDK throw a FormatException from inside GetObject.
        await using var fakeS3 = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.ETag = "\"v1\"";
            ctx.Response.ContentLength = 2;
            await ctx.Response.WriteAsync("ok");
        });
        await using var edge = await StartEdge(fakeS3.Url, Bucket);

        using var response = await edge.Viewer.GetAsync("/x");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("detail=protocol", response.Header("Cache-Status"), StringComparison.Ordinal);

        // The background probe met the same answer; the node is still up and reports the origin down.
        await edge.Get<Origins.OriginHealthMonitor>().FirstRound.WaitAsync(TimeSpan.FromSeconds(10));
        using var json = System.Text.Json.JsonDocument.Parse(await edge.Admin.GetStringAsync("/readyz"));
        var bucket = json.RootElement.GetProperty("origins").GetProperty("bucket");
        Assert.False(bucket.GetProperty("up").GetBoolean());
        Assert.Equal("protocol", bucket.GetProperty("lastError").GetProperty("kind").GetString());
        using var health = await edge.Viewer.GetAsync("/.edge/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    /// <summary>An S3 error as S3 sends it: the status, and an XML body naming the code.</summary>
    private static async Task AnswerS3Error(HttpContext ctx, int status, string code)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/xml";
        ctx.Response.Headers["x-amz-request-id"] = "TEST";
        await ctx.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>refused</Message><RequestId>TEST</RequestId></Error>");
    }

    private static async Task<EdgeNode> StartEdge(string serviceUrl, string bucket)
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.SecretKey);
        return await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions { Id = "bucket", Type = "s3", Bucket = bucket, Region = "us-east-1", ServiceUrl = serviceUrl, ForcePathStyle = true });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "bucket" });
        });
    }

    [Fact]
    public async Task A_method_other_than_GET_and_HEAD_is_a_405_naming_them_never_a_read_of_the_object()
    {
        await using var s3 = await S3rverProcess.StartAsync(Bucket);
        using var client = s3.CreateClient();
        await client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = "doc.txt", ContentBody = "stored", UseChunkEncoding = false });
        await using var edge = await StartEdge(s3, keyPrefix: null, methods: ["GET", "HEAD", "POST", "get", "Purge"]);
        (await edge.Viewer.GetAsync("/doc.txt")).Dispose();

        foreach (var method in new[] { "POST", "get", "Purge" })
        {
            // A raw socket: HttpClient would send "get" as GET.
            var response = await RawViewer.SendAsync(edge.ViewerPort, $"{method} /doc.txt HTTP/1.1\r\nHost: edge\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody");
            Assert.Equal(405, response.Status);
            Assert.Equal("GET, HEAD", response.Header("Allow"));
            Assert.Equal($"S3 origins serve GET and HEAD only, not {method}.", response.BodyText);
        }

        using var hit = await edge.Viewer.GetAsync("/doc.txt");
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal("stored", await hit.Content.ReadAsStringAsync());
    }

    private static async Task<EdgeNode> StartEdge(S3rverProcess s3, string? keyPrefix, List<string>? methods = null)
    {
        // The SDK's default credential chain reads these, as it reads the web-identity token on EKS.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.SecretKey);
        return await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions
            {
                Id = "bucket",
                Type = "s3",
                Bucket = Bucket,
                Region = "us-east-1",
                ServiceUrl = s3.ServiceUrl,
                ForcePathStyle = true,
                KeyPrefix = keyPrefix,
            });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "bucket", AllowedMethods = methods ?? [] });
        });
    }
}
