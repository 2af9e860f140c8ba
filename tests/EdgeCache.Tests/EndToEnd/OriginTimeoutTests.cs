using System.Net;
using EdgeCache.Caching;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>readTimeout, fired by moving the node's clock: no test waits for real time to pass.</summary>
public sealed class OriginTimeoutTests
{
    [Fact]
    public async Task An_origin_that_sends_no_headers_within_the_read_timeout_gets_504()
    {
        var hang = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async _ => await hang.Task);
        try
        {
            await using var edge = await EdgeNode.StartAsync(origin, o => o.Origins[0].ReadTimeoutMs = 5000);
            var request = edge.Viewer.GetAsync("/hangs");
            await CachingTests.Eventually(() => origin.Count("/hangs") == 1);
            Assert.False(request.IsCompleted);

            edge.Time.Advance(TimeSpan.FromSeconds(6));
            using var response = await request;
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            Assert.Equal("Error", response.XCache());
            Assert.Contains("detail=timeout", response.Header("Cache-Status"), StringComparison.Ordinal);
        }
        finally
        {
            hang.TrySetResult();
        }
    }

    [Fact]
    public async Task An_origin_that_stalls_mid_body_is_cut_off_and_nothing_is_stored()
    {
        var hang = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.ContentLength = 2048;
            await ctx.Response.Body.WriteAsync(new byte[1024]);
            await ctx.Response.Body.FlushAsync();
            await hang.Task;
        });
        try
        {
            await using var edge = await EdgeNode.StartAsync(origin, o => o.Origins[0].ReadTimeoutMs = 5000);
            using var response = await edge.Viewer.GetAsync("/stalls", HttpCompletionOption.ResponseHeadersRead);
            var body = await response.Content.ReadAsStreamAsync();
            await body.ReadExactlyAsync(new byte[1024]);

            edge.Time.Advance(TimeSpan.FromSeconds(6));
            await Assert.ThrowsAnyAsync<IOException>(async () => await body.ReadExactlyAsync(new byte[1024]));
            Assert.Equal(0, edge.Get<MemoryCacheStore>().Count);
        }
        finally
        {
            hang.TrySetResult();
        }
    }
}
