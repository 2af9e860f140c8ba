using System.Security.Cryptography;
using EdgeCache.FastPath;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

public sealed class ConnectionBufferTests
{
    [Fact]
    public async Task Kestrel_builds_its_connection_pipes_from_the_large_block_pool_and_bodies_cross_blocks_intact()
    {
        // 200 KiB + 1: the body spans four 64 KiB blocks and ends one byte into the last, behind the header bytes.
        var body = RandomNumberGenerator.GetBytes((200 * 1024) + 1);
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "public, max-age=3600";
            ctx.Response.ContentLength = body.Length;
            return ctx.Response.Body.WriteAsync(body).AsTask();
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        for (var i = 0; i < 3; i++)
        {
            using var response = await edge.Viewer.GetAsync("/big.bin");
            Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal(i == 0 ? "Miss" : "Hit", response.Header("X-Cache"));
        }

        var factory = Assert.IsType<LargeBlockMemoryPoolFactory>(edge.Get<IMemoryPoolFactory<byte>>());
        Assert.True(factory.PoolsCreated >= 2, $"Kestrel asked the factory for {factory.PoolsCreated} pools (one per listener expected)");
    }
}
