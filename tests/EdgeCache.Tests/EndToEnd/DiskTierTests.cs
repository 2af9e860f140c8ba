using System.Diagnostics;
using System.Net;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.Observability;
using EdgeCache.Purging;
using EdgeCache.Tests.Infrastructure;
using EdgeCache.Tests.Unit;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>The disk tier on real files: restarts, crashes at every write step, corruption, a full disk, purges.</summary>
public sealed class DiskTierTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("edgecache-disk-").FullName;

    [Fact]
    public async Task A_restarted_node_serves_a_hit_from_disk()
    {
        await using var origin = await Origin();
        await using (var first = await Start(origin))
        {
            using var miss = await first.Viewer.GetAsync("/doc.html");
            Assert.Equal("Miss", miss.XCache());
            await CachingTests.Eventually(() => first.Get<DiskCacheStore>().Count == 1);
        }

        await using var second = await Start(origin);
        Assert.Equal(1, second.Get<DiskCacheStore>().Count);
        using var hit = await second.Viewer.GetAsync("/doc.html");
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal(Body("/doc.html"), await hit.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, origin.Count("/doc.html"));
    }

    [Theory]
    [InlineData("open")]
    [InlineData("trailer")]
    [InlineData("body")]
    [InlineData("flush")]
    [InlineData("rename")]
    public async Task A_write_killed_at_any_step_never_yields_a_served_entry(string step)
    {
        await using var origin = await Origin();
        await using (var crashing = await Start(origin))
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            crashing.Get<DiskCacheStore>().FaultHook = at =>
            {
                if (at == step)
                {
                    reached.TrySetResult();
                    throw new InvalidOperationException("simulated kill -9 at " + at);
                }
            };
            (await crashing.Viewer.GetAsync("/crash.bin")).Dispose();
            await reached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }

        await using var restarted = await Start(origin);
        Assert.Equal(0, restarted.Get<DiskCacheStore>().Count);
        Assert.Empty(Directory.EnumerateFiles(_directory, "*.tmp", SearchOption.AllDirectories));
        using var response = await restarted.Viewer.GetAsync("/crash.bin");
        Assert.Equal("Miss", response.XCache());
        Assert.Equal(Body("/crash.bin"), await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("flip-body")]
    [InlineData("flip-metadata")]
    public async Task Corrupt_or_truncated_entries_are_dropped_and_refetched(string damage)
    {
        await using var origin = await Origin();
        await using (var first = await Start(origin))
        {
            (await first.Viewer.GetAsync("/victim.bin")).Dispose();
            await CachingTests.Eventually(() => first.Get<DiskCacheStore>().Count == 1);
        }

        var file = Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Single();
        var bytes = await File.ReadAllBytesAsync(file);
        switch (damage)
        {
            case "truncate":
                bytes = bytes[..^100];
                break;
            case "flip-body":
                // The body comes first in an entry file.
                bytes[1000] ^= 0xFF;
                break;
            case "flip-metadata":
                // The metadata follows the 200 KiB body.
                bytes[(200 * 1024) + 20] ^= 0x01;
                break;
        }

        await File.WriteAllBytesAsync(file, bytes);

        await using var second = await Start(origin);
        using var response = await second.Viewer.GetAsync("/victim.bin");
        Assert.Equal("Miss", response.XCache());
        Assert.Equal(Body("/victim.bin"), await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, origin.Count("/victim.bin"));
        Assert.Equal(1, second.Get<EdgeCacheMetrics>().DiskCorruptEntries.Value);
        // The dropped record left the count and the refetch joined it: one object, one file.
        await CachingTests.Eventually(() => second.Get<DiskCacheStore>().Count == 1
            && Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Count() == 1);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData((200 * 1024) - 1)]
    public async Task A_corrupt_large_entry_is_dropped_and_refetched_after_a_restart(int offset)
    {
        await using var origin = await Origin();
        await using (var first = await StartLarge(origin))
        {
            (await first.Viewer.GetAsync("/large.bin")).Dispose();
            await CachingTests.Eventually(() => first.Get<DiskCacheStore>().Count == 1);
            Assert.True(first.Get<MemoryCacheStore>().Bytes < 64 * 1024);
        }

        var file = Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Single();
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = offset;
            var original = stream.ReadByte();
            stream.Position = offset;
            stream.WriteByte((byte)(original ^ 0xFF));
        }

        await using var second = await StartLarge(origin);
        // Start-up reads only trailers: the damage inside the body is found when the entry is first about to be served.
        Assert.Equal(1, second.Get<DiskCacheStore>().Count);
        using (var response = await second.Viewer.GetAsync("/large.bin"))
        {
            Assert.Equal("Miss", response.XCache());
            Assert.Equal(Body("/large.bin"), await response.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(2, origin.Count("/large.bin"));
        Assert.Equal(1, second.Get<EdgeCacheMetrics>().DiskCorruptEntries.Value);

        // The refetched copy is verified as it is written and served as a hit from then on.
        await CachingTests.Eventually(() => second.Get<DiskCacheStore>().Count == 1);
        using var hit = await second.Viewer.GetAsync("/large.bin");
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal(Body("/large.bin"), await hit.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, origin.Count("/large.bin"));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData((200 * 1024) - 1)]
    public async Task A_large_entry_corrupted_after_it_was_checked_is_never_served_whole_and_is_dropped_and_refetched(int offset)
    {
        await using var origin = await Origin();
        await using var edge = await StartLarge(origin);
        var metrics = edge.Get<EdgeCacheMetrics>();
        (await edge.Viewer.GetAsync("/large.bin")).Dispose();
        await CachingTests.Eventually(() => edge.Get<DiskCacheStore>().Count == 1);
        using (var hit = await edge.Viewer.GetAsync("/large.bin"))
        {
            Assert.Equal("Hit", hit.XCache());
            Assert.Equal(Body("/large.bin"), await hit.Content.ReadAsByteArrayAsync());
        }

        // Damaged on disk while the node runs, after the entry's checks so far.
        FlipByte(Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Single(), offset);

        // The headers (with the Content-Length) may already be out; the body is cut off before its last bytes.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => edge.Viewer.GetByteArrayAsync("/large.bin"));
        Assert.Equal(1, metrics.DiskCorruptEntries.Value);
        Assert.Equal(0, edge.Get<DiskCacheStore>().Count);

        using (var refetched = await edge.Viewer.GetAsync("/large.bin"))
        {
            Assert.Equal("Miss", refetched.XCache());
            Assert.Equal(Body("/large.bin"), await refetched.Content.ReadAsByteArrayAsync());
        }

        Assert.Equal(2, origin.Count("/large.bin"));
    }

    [Fact]
    public async Task A_range_of_a_large_entry_is_served_only_from_a_body_verified_within_the_recheck_interval()
    {
        // A range is not the whole body, so it cannot be checked as it streams: an entry not verified whole within the
        // interval is verified before the range is served.
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            var body = Body(ctx.Request.Path.Value!);
            ctx.Response.Headers.CacheControl = "max-age=86400";
            ctx.Response.ContentLength = body.Length;
            await ctx.Response.Body.WriteAsync(body);
        });
        await using var edge = await StartLarge(origin);
        (await edge.Viewer.GetAsync("/video.bin")).Dispose();
        await CachingTests.Eventually(() => edge.Get<DiskCacheStore>().Count == 1);
        FlipByte(Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Single(), 5000);

        edge.Time.Advance(DiskCacheStore.RangeReadRecheckInterval + TimeSpan.FromSeconds(1));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/video.bin");
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(4096, 8191);
        using var response = await edge.Viewer.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("Miss", response.XCache());
        Assert.Equal(Body("/video.bin")[4096..8192], await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, edge.Get<EdgeCacheMetrics>().DiskCorruptEntries.Value);
        Assert.Equal(2, origin.Count("/video.bin"));
    }

    [Fact]
    public async Task A_304_refreshes_a_large_entry_on_disk_so_later_requests_are_fresh_hits()
    {
        var body = Body("/refresh.bin");
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=10";
            ctx.Response.Headers.ETag = "\"v1\"";
            if (ctx.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                ctx.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }

            ctx.Response.ContentLength = body.Length;
            await ctx.Response.Body.WriteAsync(body);
        });
        await using (var edge = await StartLarge(origin))
        {
            (await edge.Viewer.GetAsync("/refresh.bin")).Dispose();
            await CachingTests.Eventually(() => edge.Get<DiskCacheStore>().Count == 1);

            edge.Time.Advance(TimeSpan.FromSeconds(15));
            using (var refreshed = await edge.Viewer.GetAsync("/refresh.bin"))
            {
                Assert.Equal("RefreshHit", refreshed.XCache());
                Assert.Equal(body, await refreshed.Content.ReadAsByteArrayAsync());
            }

            using (var hit = await edge.Viewer.GetAsync("/refresh.bin"))
            {
                Assert.Equal("Hit", hit.XCache());
                Assert.Equal(body, await hit.Content.ReadAsByteArrayAsync());
            }

            Assert.Equal(2, origin.Count("/refresh.bin"));
            Assert.Equal(new FileInfo(Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).Single()).Length, edge.Get<DiskCacheStore>().Bytes);
        }

        // The refreshed metadata is on disk: 12 s after a restart the entry is fresh (it would be stale by the original
        // response's clock), and its body still verifies.
        await using var restarted = await StartLarge(origin);
        restarted.Time.Advance(TimeSpan.FromSeconds(12));
        using var afterRestart = await restarted.Viewer.GetAsync("/refresh.bin");
        Assert.Equal("Hit", afterRestart.XCache());
        Assert.Equal(body, await afterRestart.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, origin.Count("/refresh.bin"));
    }

    [Fact]
    public async Task A_full_disk_degrades_to_memory_only_and_the_node_keeps_serving()
    {
        await using var mount = await MountTinyDiskAsync("quota");
        var quota = mount.Path;
        await using var origin = await Origin();
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Cache.Disk.Directory = quota);
        for (var i = 0; i < 8; i++)
        {
            using var response = await edge.Viewer.GetAsync($"/fill{i}.bin");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Body($"/fill{i}.bin"), await response.Content.ReadAsByteArrayAsync());
        }

        var metrics = edge.Get<EdgeCacheMetrics>();
        await CachingTests.Eventually(() => metrics.DiskErrors.WithLabels("write").Value >= 1);
        Assert.True(edge.Get<DiskCacheStore>().Degraded);
        Assert.Equal(1, metrics.DiskDegraded.Value);
        Assert.Empty(Directory.EnumerateFiles(quota, "*.tmp", SearchOption.AllDirectories));

        // Still serving: hits from memory, misses from the origin.
        using var hit = await edge.Viewer.GetAsync("/fill7.bin");
        Assert.Equal("Hit", hit.XCache());
        using var miss = await edge.Viewer.GetAsync("/after-full.bin");
        Assert.Equal(Body("/after-full.bin"), await miss.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_disk_full_while_streaming_a_large_body_degrades_the_disk_tier_and_later_large_requests_pass_through()
    {
        await using var mount = await MountTinyDiskAsync("quota");
        var quota = mount.Path;
        var large = CollapsingTests.RandomBytes(2 * 1024 * 1024, seed: 11);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            var body = ctx.Request.Path == "/large.bin" ? large : Body(ctx.Request.Path.Value!)[..1000];
            ctx.Response.Headers.CacheControl = "max-age=3600";
            ctx.Response.ContentLength = body.Length;
            await ctx.Response.Body.WriteAsync(body);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.Disk.Directory = quota;
            o.Cache.MaxObjectBytes = 64 * 1024;
        });
        var metrics = edge.Get<EdgeCacheMetrics>();

        // The 2 MiB body cannot fit in the 1 MiB disk: the viewer's transfer is cut off, never ended short as complete.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => edge.Viewer.GetByteArrayAsync("/large.bin"));

        await CachingTests.Eventually(() => metrics.DiskErrors.WithLabels("write").Value >= 1);
        Assert.True(edge.Get<DiskCacheStore>().Degraded);
        Assert.Equal(1, metrics.DiskDegraded.Value);
        Assert.Equal(0, metrics.OriginErrors.WithLabels("origin", "body").Value);
        Assert.Empty(Directory.EnumerateFiles(quota, "*", SearchOption.AllDirectories));

        // The node keeps serving: the large object now passes through whole, small ones are cached in memory.
        using (var passed = await edge.Viewer.GetAsync("/large.bin"))
        {
            Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
            Assert.Contains("detail=too-large", passed.Header("Cache-Status"), StringComparison.Ordinal);
            Assert.Equal(large, await passed.Content.ReadAsByteArrayAsync());
        }

        (await edge.Viewer.GetAsync("/small.txt")).Dispose();
        using var hit = await edge.Viewer.GetAsync("/small.txt");
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal(2, origin.Count("/large.bin"));
    }

    [Fact]
    public async Task A_full_temp_directory_under_a_spill_file_cuts_its_viewer_off_but_degrades_no_disk_tier()
    {
        // No disk tier: a chunked body past maxObjectBytes spills to $TMPDIR (here a 1 MiB mount), which fills.
        await using var mount = await MountTinyDiskAsync("tmpdir");
        var quota = mount.Path;
        var body = CollapsingTests.RandomBytes(3 * 1024 * 1024, seed: 21);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=3600";
            await ctx.Response.Body.WriteAsync(ctx.Request.Path == "/chunked.bin" ? body : body.AsMemory(0, 1000)); // no Content-Length
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.MemoryBytes = 1024 * 1024;
            o.Cache.MaxObjectBytes = 64 * 1024;
        });
        edge.Get<DiskCacheStore>().TempDirectory = quota;
        var metrics = edge.Get<EdgeCacheMetrics>();

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => edge.Viewer.GetByteArrayAsync("/chunked.bin"));

        Assert.False(edge.Get<DiskCacheStore>().Degraded);
        Assert.Equal(0, metrics.DiskDegraded.Value);
        Assert.Equal(0, metrics.DiskErrors.WithLabels("write").Value);
        Assert.Equal(0, metrics.OriginErrors.WithLabels("origin", "body").Value); // the origin did nothing wrong
        await CachingTests.Eventually(() => !Directory.EnumerateFiles(quota).Any());

        using var small = await edge.Viewer.GetAsync("/small.txt");
        Assert.Equal(body[..1000], await small.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Purges_reach_the_disk_tier()
    {
        await using var origin = await Origin();
        await using (var first = await Start(origin, token: "disk-purge-token-0123456789"))
        {
            (await first.Viewer.GetAsync("/gone.bin")).Dispose();
            (await first.Viewer.GetAsync("/kept.bin")).Dispose();
            await CachingTests.Eventually(() => first.Get<DiskCacheStore>().Count == 2);
            var result = first.Get<Admin.PurgeService>().Purge(Purging.PurgeMatcher.TryCreate(new Purging.PurgeRequest { Paths = ["/gone.bin"] }, out _)!);
            Assert.Equal(1, result.Removed);
        }

        await using var second = await Start(origin);
        using var gone = await second.Viewer.GetAsync("/gone.bin");
        using var kept = await second.Viewer.GetAsync("/kept.bin");
        Assert.Equal("Miss", gone.XCache());
        Assert.Equal("Hit", kept.XCache());
    }

    [Fact]
    public async Task An_unsafe_method_invalidates_the_disk_tier_too()
    {
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            if (HttpMethods.IsDelete(ctx.Request.Method))
            {
                ctx.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            var body = Body(ctx.Request.Path.Value!);
            ctx.Response.Headers.CacheControl = "max-age=3600";
            ctx.Response.ContentLength = body.Length;
            await ctx.Response.Body.WriteAsync(body);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.Disk.Directory = _directory;
            o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "DELETE"];
        });
        (await edge.Viewer.GetAsync("/doc.bin")).Dispose();
        await CachingTests.Eventually(() => edge.Get<DiskCacheStore>().Count == 1);

        using (var delete = await edge.Viewer.DeleteAsync("/doc.bin"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        Assert.Equal(0, edge.Get<DiskCacheStore>().Count);
        Assert.Empty(Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories));
        using var after = await edge.Viewer.GetAsync("/doc.bin");
        Assert.Equal("Miss", after.XCache());
        Assert.Equal(2, origin.Requests.Count(r => r.Method == "GET" && r.Path == "/doc.bin"));
    }

    [Fact]
    public async Task A_vary_change_deletes_the_old_variants_files_and_their_bytes()
    {
        var vary = "X-A";
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            var body = Body(ctx.Request.Path.Value! + vary);
            ctx.Response.Headers.CacheControl = "max-age=3600";
            ctx.Response.Headers.Vary = vary;
            ctx.Response.ContentLength = body.Length;
            await ctx.Response.Body.WriteAsync(body);
        });
        DiskCacheStore disk;
        await using (var edge = await Start(origin))
        {
            disk = edge.Get<DiskCacheStore>();
            (await edge.Viewer.GetAsync("/varies.bin")).Dispose();
            await CachingTests.Eventually(() => disk.Count == 1);

            vary = "X-B";
            using var refetch = new HttpRequestMessage(HttpMethod.Get, "/varies.bin");
            refetch.Headers.CacheControl = new System.Net.Http.Headers.CacheControlHeaderValue { NoCache = true };
            using var response = await edge.Viewer.SendAsync(refetch);
            Assert.Equal("Miss", response.XCache());
        }

        // Shutdown drains the queued write of the X-B variant; the X-A variant can never be selected again.
        var files = Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories).ToList();
        Assert.Single(files);
        Assert.Equal(1, disk.Count);
        Assert.Equal(new FileInfo(files[0]).Length, disk.Bytes);

        await using var restarted = await Start(origin);
        Assert.Equal(new FileInfo(files[0]).Length, restarted.Get<DiskCacheStore>().Bytes);
        using var hit = await restarted.Viewer.GetAsync("/varies.bin");
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal(Body("/varies.binX-B"), await hit.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Objects_larger_than_memory_takes_stream_through_disk_collapsed_and_survive_a_restart()
    {
        const int Size = 6 * 1024 * 1024;
        var large = CollapsingTests.RandomBytes(Size, seed: 7);
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartGatedAsync(large, 1024 * 1024, rest.Task, cacheControl: "max-age=3600");
        await using (var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.Disk.Directory = _directory;
            o.Cache.MaxObjectBytes = 1024 * 1024;
            o.Cache.MemoryBytes = 4 * 1024 * 1024;
        }))
        {
            // Two viewers share one fetch; a range in the first MiB is answered before the origin sends the rest.
            var whole = edge.Viewer.GetByteArrayAsync("/big.iso");
            using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, "/big.iso");
            rangeRequest.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(4096, 8191);
            using var range = await edge.Viewer.SendAsync(rangeRequest);
            Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
            Assert.Equal(large[4096..8192], await range.Content.ReadAsByteArrayAsync());
            Assert.False(rest.Task.IsCompleted);

            rest.SetResult();
            Assert.Equal(large, await whole);
            Assert.Equal(1, origin.Count("/big.iso"));
            await CachingTests.Eventually(() => edge.Get<DiskCacheStore>().Count == 1);
            // Never held in the memory tier.
            Assert.True(edge.Get<MemoryCacheStore>().Bytes < 1024 * 1024);

            using var hit = await edge.Viewer.GetAsync("/big.iso");
            Assert.Equal("Hit", hit.XCache());
            Assert.Equal(large, await hit.Content.ReadAsByteArrayAsync());
        }

        await using var restarted = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.Disk.Directory = _directory;
            o.Cache.MaxObjectBytes = 1024 * 1024;
            o.Cache.MemoryBytes = 4 * 1024 * 1024;
        });
        using var tail = new HttpRequestMessage(HttpMethod.Get, "/big.iso");
        tail.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(Size - 100, Size - 1);
        using var fromDisk = await restarted.Viewer.SendAsync(tail);
        Assert.Equal("Hit", fromDisk.XCache());
        Assert.Equal(large[^100..], await fromDisk.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, origin.Count("/big.iso"));
    }

    [Fact]
    public async Task A_chunked_body_that_outgrows_memory_moves_to_the_disk_tier_mid_stream_and_is_cached()
    {
        // No Content-Length: the node only learns the body is large as it passes cache.maxObjectBytes, and then the
        // whole memory tier. It moves to a disk-tier file mid-stream and is stored there like any large object.
        const int Size = 6 * 1024 * 1024;
        var large = CollapsingTests.RandomBytes(Size, seed: 13);
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartGatedAsync(large, 2 * 1024 * 1024, rest.Task, withLength: false, cacheControl: "max-age=3600");
        Action<EdgeCacheOptions> configure = o =>
        {
            o.Cache.Disk.Directory = _directory;
            o.Cache.MaxObjectBytes = 1024 * 1024;
            o.Cache.MemoryBytes = 4 * 1024 * 1024;
        };
        await using (var edge = await EdgeNode.StartAsync(origin, configure))
        {
            using var leader = await edge.Viewer.GetAsync("/chunked.iso", HttpCompletionOption.ResponseHeadersRead);
            using var waiter = await edge.Viewer.GetAsync("/chunked.iso", HttpCompletionOption.ResponseHeadersRead);
            var leaderBody = leader.Content.ReadAsByteArrayAsync();
            var waiterBody = waiter.Content.ReadAsByteArrayAsync();
            rest.SetResult();
            Assert.Equal(large, await leaderBody);
            Assert.Equal(large, await waiterBody);
            Assert.Equal(1, origin.Count("/chunked.iso"));
            await CachingTests.Eventually(() => edge.Get<DiskCacheStore>().Count == 1);
            Assert.True(edge.Get<MemoryCacheStore>().Bytes < 1024 * 1024);

            using var hit = await edge.Viewer.GetAsync("/chunked.iso");
            Assert.Equal("Hit", hit.XCache());
            Assert.Equal(Size, hit.Content.Headers.ContentLength);
            Assert.Equal(large, await hit.Content.ReadAsByteArrayAsync());
        }

        await using var restarted = await EdgeNode.StartAsync(origin, configure);
        using var fromDisk = await restarted.Viewer.GetAsync("/chunked.iso");
        Assert.Equal("Hit", fromDisk.XCache());
        Assert.Equal(large, await fromDisk.Content.ReadAsByteArrayAsync());
        Assert.Equal(1, origin.Count("/chunked.iso"));
    }

    [Fact]
    public async Task A_chunked_body_that_outgrows_memory_but_may_not_be_stored_streams_through_a_spill_file_that_goes_away()
    {
        // A 418 without explicit freshness may not be stored (RFC 9111 3: not heuristically cacheable), so the body
        // cannot go to the disk tier as an entry; it still outgrows the 1 MiB memory tier and must not be held there.
        var large = CollapsingTests.RandomBytes(3 * 1024 * 1024, seed: 14);
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartGatedAsync(large, 2 * 1024 * 1024, rest.Task, withLength: false, cacheControl: null, status: 418);
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Cache.Disk.Directory = _directory;
            o.Cache.MaxObjectBytes = 1024 * 1024;
            o.Cache.MemoryBytes = 1024 * 1024;
        });

        using var viewer = await edge.Viewer.GetAsync("/teapot", HttpCompletionOption.ResponseHeadersRead);
        var received = viewer.Content.ReadAsByteArrayAsync();
        await CachingTests.Eventually(() => Directory.Exists(Path.Combine(_directory, "spill")));
        // Unlinked as soon as it is opened: nothing to clean up, even after a crash.
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_directory, "spill")));
        rest.SetResult();

        Assert.Equal(418, (int)viewer.StatusCode);
        Assert.Equal(large, await received);
        Assert.Equal(0, edge.Get<DiskCacheStore>().Count);
        Assert.Equal(0, edge.Get<MemoryCacheStore>().Count);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Two_writes_of_one_object_landing_together_leave_the_record_of_the_file_on_disk_counted_once()
    {
        await using var origin = await Origin();
        await using var edge = await Start(origin);
        var disk = edge.Get<DiskCacheStore>();
        var generation = edge.Get<PurgeLog>().Generation;
        var key = new CacheKey("0|/race.bin", "/race.bin");
        var body = Body("/race.bin");
        var received = DateTimeOffset.UtcNow;

        Task CommitAsync(string cacheControl) => CommitLargeAsync(disk, generation, key, "", body, stored =>
            FreshnessTests.Entry(3600, 0, received, cacheControl, stored));

        // Two fetches of one object (one file name). The first write stops after its rename, once it has looked the key
        // up and found nothing; the second arrives meanwhile. Their trailers differ in length (the Cache-Control each
        // stored), so whose record the index keeps shows against the file's size.
        await RaceAsync(disk, () => CommitAsync("max-age=3600"), () => CommitAsync("public, max-age=3600, stale-while-revalidate=60"));

        Assert.Equal(1, disk.Count);
        var file = Assert.Single(Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories));
        Assert.Equal(new FileInfo(file).Length, disk.Bytes);
        using var hit = await edge.Viewer.GetAsync("/race.bin");
        Assert.Equal("Hit", hit.XCache());
        Assert.Equal("public, max-age=3600, stale-while-revalidate=60", string.Join(", ", hit.Headers.GetValues("Cache-Control")));
        Assert.Equal(body, await hit.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_purge_that_lands_while_a_write_commits_is_not_undone_by_it()
    {
        await using var origin = await Origin();
        await using var edge = await Start(origin);
        var disk = edge.Get<DiskCacheStore>();

        // The disk write of /purged.bin has passed the write queue's purge check and stops at its rename; a purge of the
        // path lands meanwhile. A second write is queued behind it, so its start says the first has finished.
        var atRename = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var nextWriteStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        int renames = 0, opens = 0;
        disk.FaultHook = at =>
        {
            if (at == "rename" && Interlocked.Increment(ref renames) == 1)
            {
                atRename.SetResult();
                release.Wait(TimeSpan.FromSeconds(30));
            }
            else if (at == "open" && Interlocked.Increment(ref opens) == 2)
            {
                nextWriteStarted.SetResult();
            }
        };
        using (var miss = await edge.Viewer.GetAsync("/purged.bin"))
        {
            Assert.Equal("Miss", miss.XCache());
        }

        await atRename.Task.WaitAsync(TimeSpan.FromSeconds(10));
        edge.Get<Admin.PurgeService>().Purge(Purging.PurgeMatcher.TryCreate(new Purging.PurgeRequest { Paths = ["/purged.bin"] }, out _)!);
        release.Set();
        (await edge.Viewer.GetAsync("/next.bin")).Dispose();
        await nextWriteStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Purged from memory, and nothing came back on disk: the next request goes to the origin.
        using var after = await edge.Viewer.GetAsync("/purged.bin");
        Assert.Equal("Miss", after.XCache());
        Assert.Equal(Body("/purged.bin"), await after.Content.ReadAsByteArrayAsync());
        Assert.Equal(2, origin.Count("/purged.bin"));
    }

    [Fact]
    public async Task A_Vary_change_racing_a_write_of_the_old_Vary_leaves_no_file_the_index_does_not_know()
    {
        await using var origin = await Origin();
        await using var edge = await Start(origin);
        var disk = edge.Get<DiskCacheStore>();
        var generation = edge.Get<PurgeLog>().Generation;
        var key = new CacheKey("0|/vary.bin", "/vary.bin");
        var body = Body("/vary.bin");
        var received = DateTimeOffset.UtcNow;

        Task CommitAsync(string[] varyNames, string secondaryKey) => CommitLargeAsync(disk, generation, key, secondaryKey, body, stored =>
            FreshnessTests.Entry(3600, 0, received, "max-age=3600", stored, varyNames, secondaryKey));

        // The first write, a variant under Vary: Accept-Language, stops once it has the key's variant set in hand; the
        // second, stored after the origin changed its Vary to Accept-Encoding, arrives meanwhile.
        await RaceAsync(disk, () => CommitAsync(["Accept-Language"], "en"), () => CommitAsync(["Accept-Encoding"], "identity"));

        // The old Vary's variant can never be looked up again: its file is gone, and the counts are of what is on disk.
        var file = Assert.Single(Directory.EnumerateFiles(_directory, "*.entry", SearchOption.AllDirectories));
        Assert.Equal(1, disk.Count);
        Assert.Equal(new FileInfo(file).Length, disk.Bytes);
    }

    /// <summary>As a fetch streams a large body: into the write's temp file, then committed as the entry made of it.</summary>
    private static async Task CommitLargeAsync(DiskCacheStore disk, long generation, CacheKey key, string secondaryKey, byte[] body, Func<CachedBody, CacheEntry> entry)
    {
        var write = disk.BeginLarge(key, secondaryKey, generation);
        var stored = CachedBody.ToFile(write.Handle);
        stored.Write(body);
        stored.Complete();
        await disk.CommitLargeAsync(write, entry(stored));
        write.Handle.Dispose();
    }

    /// <summary>
    /// Runs two writes so that the second arrives while the first is held at its "index" step (between looking the key
    /// up and storing its record), then lets both finish. Nothing makes the second wait unless the store orders the
    /// two: it lands at once, or finds the key's lock taken (its "commit" step) and waits for the first.
    /// </summary>
    private static async Task RaceAsync(DiskCacheStore disk, Func<Task> first, Func<Task> second)
    {
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        var calls = 0;
        disk.FaultHook = at =>
        {
            if (at == "index" && Interlocked.Increment(ref calls) == 1)
            {
                holding.SetResult();
                release.Wait(TimeSpan.FromSeconds(30));
            }
            else if (at == "commit" && Volatile.Read(ref calls) == 1)
            {
                secondArrived.TrySetResult();
            }
        };
        var firstWrite = Task.Run(first);
        await Task.WhenAny(holding.Task, firstWrite).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(firstWrite.IsCompleted, $"the first write ended before the index: {firstWrite.Exception}, degraded {disk.Degraded}");
        var secondWrite = Task.Run(second);
        await Task.WhenAny(secondWrite, secondArrived.Task).WaitAsync(TimeSpan.FromSeconds(10));
        release.Set();
        await Task.WhenAll(firstWrite, secondWrite).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static void FlipByte(string file, int offset)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        stream.Position = offset;
        var original = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(original ^ 0xFF));
    }

    private Task<EdgeNode> Start(TestOrigin origin, string? token = null) => EdgeNode.StartAsync(origin, o =>
    {
        o.Cache.Disk.Directory = _directory;
        o.AdminToken = token;
    });

    /// <summary>Bodies over 64 KiB (every <see cref="Body"/>) skip memory and are file-backed disk entries.</summary>
    private Task<EdgeNode> StartLarge(TestOrigin origin) => EdgeNode.StartAsync(origin, o =>
    {
        o.Cache.Disk.Directory = _directory;
        o.Cache.MaxObjectBytes = 64 * 1024;
    });

    private static Task<TestOrigin> Origin() => TestOrigin.StartAsync(async ctx =>
    {
        var body = Body(ctx.Request.Path.Value!);
        ctx.Response.Headers.CacheControl = "max-age=3600";
        ctx.Response.ContentLength = body.Length;
        await ctx.Response.Body.WriteAsync(body);
    });

    /// <summary>A 200 KiB body that depends on the path, so a mix-up between entries shows.</summary>
    private static byte[] Body(string path) => CollapsingTests.RandomBytes(200 * 1024, seed: path.GetHashCode(StringComparison.Ordinal));

    /// <summary>
    /// A 1 MiB tmpfs under the test's directory: a disk that fills. Unmounted lazily, so a handle a failing run left
    /// open cannot leave the mount behind.
    /// </summary>
    private async Task<TinyDisk> MountTinyDiskAsync(string name)
    {
        var path = Path.Combine(_directory, name);
        Directory.CreateDirectory(path);
        await Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path);
        return new TinyDisk(path);
    }

    private sealed class TinyDisk(string path) : IAsyncDisposable
    {
        public string Path { get; } = path;

        public async ValueTask DisposeAsync() => await Run("umount", "-l", Path);
    }

    private static async Task Run(string command, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(command, args) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', args)} failed (the disk-full test needs root to mount a 1 MiB tmpfs): {error}");
    }
}
