using System.Net;
using EdgeCache.Caching;
using EdgeCache.Observability;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>Request collapsing: one origin fetch per key, streamed to every waiter as it arrives.</summary>
public sealed class CollapsingTests
{
    private const int Half = 256 * 1024;

    [Fact]
    public async Task Concurrent_misses_make_one_origin_fetch_and_every_viewer_gets_the_same_bytes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var body = RandomBytes(2 * Half, seed: 1);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            await release.Task;
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.ContentLength = body.Length;
            await ctx.Response.Body.WriteAsync(body);
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        var viewers = Enumerable.Range(0, 50).Select(_ => edge.Viewer.GetByteArrayAsync("/big")).ToArray();
        await CachingTests.Eventually(() => edge.Get<EdgeCacheMetrics>().CollapsedWaiters.Value >= 49);
        release.SetResult();
        var results = await Task.WhenAll(viewers);

        Assert.Equal(1, origin.Count("/big"));
        Assert.All(results, r => Assert.Equal(body, r));
    }

    [Fact]
    public async Task Waiters_receive_the_first_bytes_before_the_origin_has_sent_the_rest()
    {
        var secondHalf = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var body = RandomBytes(2 * Half, seed: 2);
        await using var origin = await TestOrigin.StartGatedAsync(body, Half, secondHalf.Task);
        await using var edge = await EdgeNode.StartAsync(origin);

        using var leader = await edge.Viewer.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        using var waiter = await edge.Viewer.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Contains("collapsed", waiter.Header("Cache-Status"));

        // Both viewers can read the whole first half while the origin is still holding back the second.
        var leaderFirst = await ReadExactly(await leader.Content.ReadAsStreamAsync(), Half);
        var waiterStream = await waiter.Content.ReadAsStreamAsync();
        var waiterFirst = await ReadExactly(waiterStream, Half);
        Assert.False(secondHalf.Task.IsCompleted);
        Assert.Equal(body.AsSpan(0, Half).ToArray(), waiterFirst);
        Assert.Equal(body.AsSpan(0, Half).ToArray(), leaderFirst);

        secondHalf.SetResult();
        var waiterRest = await ReadExactly(waiterStream, Half);
        Assert.Equal(body.AsSpan(Half).ToArray(), waiterRest);
        Assert.Equal(1, origin.Count("/stream"));
    }

    [Fact]
    public async Task The_leader_disconnecting_does_not_cancel_or_truncate_the_fetch_for_the_others()
    {
        var secondHalf = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var body = RandomBytes(2 * Half, seed: 3);
        await using var origin = await TestOrigin.StartGatedAsync(body, Half, secondHalf.Task);
        await using var edge = await EdgeNode.StartAsync(origin);

        using var leaderClient = new HttpClient { BaseAddress = edge.Viewer.BaseAddress };
        var leader = await leaderClient.GetAsync("/leader-gone", HttpCompletionOption.ResponseHeadersRead);
        var waiter = edge.Viewer.GetByteArrayAsync("/leader-gone");
        await CachingTests.Eventually(() => edge.Get<EdgeCacheMetrics>().CollapsedWaiters.Value >= 1);

        leader.Dispose();
        leaderClient.Dispose();
        secondHalf.SetResult();

        Assert.Equal(body, await waiter);
        await CachingTests.Eventually(() => edge.Get<MemoryCacheStore>().Count == 1);
        using var hit = await edge.Viewer.GetAsync("/leader-gone");
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal(body, await hit.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, origin.Count("/leader-gone"));
    }

    [Fact]
    public async Task A_slow_viewer_does_not_slow_the_fetch_for_fast_ones()
    {
        var body = RandomBytes(4 * Half, seed: 4);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.ContentLength = body.Length;
            await Task.Delay(100);
            await ctx.Response.Body.WriteAsync(body);
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        // The slow viewer starts first (so it leads) and then stops reading after its headers.
        using var slow = await edge.Viewer.GetAsync("/slow", HttpCompletionOption.ResponseHeadersRead);
        var fast = await edge.Viewer.GetByteArrayAsync("/slow");
        Assert.Equal(body, fast);

        // The fetch completed and was stored even though the slow viewer has read nothing yet.
        await CachingTests.Eventually(() => edge.Get<MemoryCacheStore>().Count == 1);
        Assert.Equal(body, await slow.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, origin.Count("/slow"));
    }

    [Fact]
    public async Task A_failed_fetch_fails_every_waiter_and_is_not_cached()
    {
        var attempt = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            if (Interlocked.Increment(ref attempt) == 1)
            {
                await release.Task;
                ctx.Abort();
                return;
            }

            ctx.Response.Headers.CacheControl = "max-age=60";
            await ctx.Response.WriteAsync("recovered");
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        var viewers = Enumerable.Range(0, 10).Select(_ => edge.Viewer.GetAsync("/fails")).ToArray();
        await CachingTests.Eventually(() => edge.Get<EdgeCacheMetrics>().CollapsedWaiters.Value >= 9);
        release.SetResult();
        var responses = await Task.WhenAll(viewers);
        Assert.All(responses, r =>
        {
            Assert.Equal(HttpStatusCode.BadGateway, r.StatusCode);
            Assert.Equal("Error", r.XCache());
        });

        using var next = await edge.Viewer.GetAsync("/fails");
        Assert.Equal("recovered", await next.Content.ReadAsStringAsync());
        Assert.Equal(2, origin.Count("/fails"));
    }

    [Fact]
    public async Task An_uncacheable_response_releases_the_waiters_to_fetch_for_themselves()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var serial = 0;
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            var n = Interlocked.Increment(ref serial);
            if (n == 1)
            {
                await release.Task;
            }

            ctx.Response.Headers.CacheControl = "private, max-age=60";
            await ctx.Response.WriteAsync("for-request-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        var viewers = Enumerable.Range(0, 5).Select(_ => edge.Viewer.GetStringAsync("/mine")).ToArray();
        await CachingTests.Eventually(() => edge.Get<EdgeCacheMetrics>().CollapsedWaiters.Value >= 4);
        release.SetResult();
        var bodies = await Task.WhenAll(viewers);

        // Every viewer got its own origin answer, none got the leader's private one.
        Assert.Equal(5, origin.Count("/mine"));
        Assert.Equal(5, bodies.Distinct().Count());
    }

    [Fact]
    public async Task An_origin_that_resets_mid_body_never_yields_a_complete_looking_response_or_a_stored_entry()
    {
        var body = RandomBytes(2 * Half, seed: 5);
        var attempt = 0;
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.ContentLength = body.Length;
            if (Interlocked.Increment(ref attempt) == 1)
            {
                await ctx.Response.Body.WriteAsync(body.AsMemory(0, Half));
                await ctx.Response.Body.FlushAsync();
                ctx.Abort();
                return;
            }

            await ctx.Response.Body.WriteAsync(body);
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => edge.Viewer.GetByteArrayAsync("/reset"));
        Assert.Equal(0, edge.Get<MemoryCacheStore>().Count);

        using var retry = await edge.Viewer.GetAsync("/reset");
        Assert.Equal("Miss", retry.XCache());
        Assert.Equal(body, await retry.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Chunked_origin_reset_is_also_caught_without_content_length()
    {
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            await ctx.Response.Body.WriteAsync(RandomBytes(Half, seed: 6));
            await ctx.Response.Body.FlushAsync();
            ctx.Abort();
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => edge.Viewer.GetByteArrayAsync("/chunked-reset"));
        Assert.Equal(0, edge.Get<MemoryCacheStore>().Count);
    }

    [Fact]
    public async Task A_chunked_body_larger_than_the_memory_tier_streams_whole_to_every_viewer_and_is_not_stored()
    {
        // No disk tier: the body outgrows cache.maxObjectBytes with no Content-Length to warn of it, and then the whole
        // memory tier (1 MiB). It moves to an unlinked spill file instead of being held in memory or cut off.
        var body = RandomBytes(3 * 1024 * 1024, seed: 12);
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartGatedAsync(body, Half, rest.Task, withLength: false);
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.MemoryBytes = 1024 * 1024;
            o.Cache.MaxObjectBytes = 64 * 1024;
        });

        using var leader = await edge.Viewer.GetAsync("/chunked.bin", HttpCompletionOption.ResponseHeadersRead);
        using var waiter = await edge.Viewer.GetAsync("/chunked.bin", HttpCompletionOption.ResponseHeadersRead);
        Assert.Contains("collapsed", waiter.Header("Cache-Status"));
        var leaderBody = leader.Content.ReadAsByteArrayAsync();
        var waiterBody = waiter.Content.ReadAsByteArrayAsync();
        rest.SetResult();

        Assert.Equal(body, await leaderBody);
        Assert.Equal(body, await waiterBody);
        Assert.Equal(1, origin.Count("/chunked.bin"));
        Assert.Equal(0, edge.Get<MemoryCacheStore>().Count);

        using var again = await edge.Viewer.GetAsync("/chunked.bin");
        Assert.Equal("Miss", again.XCache());
        Assert.Equal(body, await again.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, origin.Count("/chunked.bin"));
    }

    private static async Task<byte[]> ReadExactly(Stream stream, int count)
    {
        var buffer = new byte[count];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await stream.ReadExactlyAsync(buffer, timeout.Token);
        return buffer;
    }

    internal static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
