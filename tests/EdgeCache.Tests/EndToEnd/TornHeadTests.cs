using EdgeCache.InvalidationLog;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// A head whose body does not match its ETag (an S3-compatible server that tore two concurrent writes of it) reads as a
/// changed head that cannot be parsed, as a head of bad JSON does: followers list the records, writers replace it.
/// </summary>
public sealed class TornHeadTests
{
    [Fact]
    public async Task A_head_whose_body_fails_its_checksum_reads_as_changed_and_unparsed()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.SecretKey);
        await using var server = await TestOrigin.StartAsync(async context =>
        {
            // The MD5 of some other body: the SDK checks a plain-MD5 ETag against what it read.
            context.Response.Headers.ETag = "\"0123456789abcdef0123456789abcdef\"";
            context.Response.ContentType = "application/json";
            var body = """{"latest":"20261207T101010.000Z-0123456789ab"}"""u8.ToArray();
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        });
        using var client = new ControlBucketEndpoint("edge-control", "us-east-1", server.Url).CreateClient();
        var bucket = new ControlBucket(client, "edge-control");

        var read = await bucket.GetHeadAsync("\"an-etag-seen-before\"", CancellationToken.None);

        Assert.True(read.Changed);
        Assert.Null(read.ETag);
        Assert.Null(read.Head);
        Assert.True(server.Count("/edge-control/head.json") > 1, "the torn head is read again before it is given up on");
    }
}
