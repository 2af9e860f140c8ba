using System.Net;
using Amazon.S3.Model;
using EdgeCache.Configuration;
using EdgeCache.Tests.Infrastructure;

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
    public async Task An_unreachable_bucket_endpoint_gives_502_and_readiness_reports_it()
    {
        var deadPort = FreePort.Next();
        await using var edge = await EdgeNode.StartAsync(o =>
        {
            o.Origins.Add(new OriginOptions { Id = "bucket", Type = "s3", Bucket = Bucket, Region = "us-east-1", ServiceUrl = $"http://127.0.0.1:{deadPort}", ForcePathStyle = true, ReadTimeoutMs = 3000 });
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "bucket" });
        });
        using var response = await edge.Viewer.GetAsync("/x");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await edge.Get<Hosting.OriginHealthMonitor>().ProbeAllAsync(CancellationToken.None);
        using var ready = await edge.Admin.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    private static async Task<EdgeNode> StartEdge(S3rverProcess s3, string? keyPrefix)
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
            o.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "bucket" });
        });
    }
}
