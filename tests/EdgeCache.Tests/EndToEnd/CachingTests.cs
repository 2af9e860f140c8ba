using System.Net;
using EdgeCache.Fetching;
using EdgeCache.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Tests.EndToEnd;

/// <summary>Hits, misses, freshness, revalidation and RFC 9111 directives, through the real node and a real origin.</summary>
public sealed class CachingTests
{
    [Fact]
    public async Task Second_request_is_a_hit_and_the_origin_sees_one_request()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "public, max-age=60";
            return ctx.Response.WriteAsync("hello");
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        using var first = await edge.Viewer.GetAsync("/a.txt");
        using var second = await edge.Viewer.GetAsync("/a.txt");

        Assert.Equal("Miss", first.XCache());
        Assert.Equal("Hit", second.XCache());
        Assert.Equal("hello", await second.Content.ReadAsStringAsync());
        Assert.Equal(1, origin.Count("/a.txt"));
        Assert.Contains("edge-test", second.Header("Via"));
        Assert.StartsWith("edge-test; hit; ttl=", second.Header("Cache-Status"));
        Assert.StartsWith("edge-test; fwd=uri-miss; fwd-status=200; stored", first.Header("Cache-Status"));
    }

    [Fact]
    public async Task Age_grows_with_time_and_an_expired_entry_is_revalidated_with_its_etag()
    {
        var version = 1;
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = version == 1 ? "max-age=10" : "max-age=20";
            ctx.Response.Headers.ETag = "\"v1\"";
            ctx.Response.Headers["X-Version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (ctx.Request.Headers.IfNoneMatch == "\"v1\"")
            {
                ctx.Response.StatusCode = 304;
                return Task.CompletedTask;
            }

            return ctx.Response.WriteAsync("body-v1");
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        (await edge.Viewer.GetAsync("/r")).Dispose();
        edge.Time.Advance(TimeSpan.FromSeconds(4));
        using (var hit = await edge.Viewer.GetAsync("/r"))
        {
            Assert.Equal("Hit", hit.XCache());
            Assert.True(int.Parse(hit.Header("Age"), System.Globalization.CultureInfo.InvariantCulture) >= 4);
        }

        version = 2;
        edge.Time.Advance(TimeSpan.FromSeconds(10));
        using var refreshed = await edge.Viewer.GetAsync("/r");
        Assert.Equal("RefreshHit", refreshed.XCache());
        Assert.Equal("body-v1", await refreshed.Content.ReadAsStringAsync());
        // Headers from the 304 replace the stored ones (RFC 9111 4.3.4).
        Assert.Equal("2", refreshed.Header("X-Version"));
        Assert.Equal("max-age=20", refreshed.Header("Cache-Control"));
        var revalidation = origin.Requests.Last();
        Assert.Equal("\"v1\"", revalidation.Headers["If-None-Match"]);

        edge.Time.Advance(TimeSpan.FromSeconds(15));
        using var afterRefresh = await edge.Viewer.GetAsync("/r");
        Assert.Equal("Hit", afterRefresh.XCache());
        Assert.Equal(2, origin.Count("/r"));
    }

    [Fact]
    public async Task Last_modified_revalidation_uses_if_modified_since()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=5";
            ctx.Response.Headers.LastModified = "Tue, 24 Nov 2026 12:00:00 GMT";
            if (ctx.Request.Headers.IfModifiedSince.Count > 0)
            {
                ctx.Response.StatusCode = 304;
                return Task.CompletedTask;
            }

            return ctx.Response.WriteAsync("lm");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/lm")).Dispose();
        edge.Time.Advance(TimeSpan.FromSeconds(6));
        using var second = await edge.Viewer.GetAsync("/lm");
        Assert.Equal("RefreshHit", second.XCache());
        Assert.Equal("Tue, 24 Nov 2026 12:00:00 GMT", origin.Requests.Last().Headers["If-Modified-Since"]);
    }

    [Fact]
    public async Task Behavior_default_ttl_applies_without_origin_freshness_and_max_ttl_clamps_it()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            if (ctx.Request.Path == "/long")
            {
                ctx.Response.Headers.CacheControl = "max-age=100000";
            }

            return ctx.Response.WriteAsync("x");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Behaviors[0].DefaultTtlSeconds = 30;
            o.Behaviors[0].MaxTtlSeconds = 60;
        });

        (await edge.Viewer.GetAsync("/plain")).Dispose();
        (await edge.Viewer.GetAsync("/long")).Dispose();
        edge.Time.Advance(TimeSpan.FromSeconds(31));
        using var plain = await edge.Viewer.GetAsync("/plain");
        using var longer = await edge.Viewer.GetAsync("/long");
        Assert.Equal("Miss", plain.XCache());
        Assert.Equal("Hit", longer.XCache());
        edge.Time.Advance(TimeSpan.FromSeconds(30));
        using var clamped = await edge.Viewer.GetAsync("/long");
        Assert.Equal("Miss", clamped.XCache());
    }

    [Theory]
    [InlineData("no-store")]
    [InlineData("private, max-age=60")]
    [InlineData("max-age=0, must-revalidate")]
    public async Task Responses_that_must_not_be_served_from_cache_reach_the_origin_every_time(string cacheControl)
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = cacheControl;
            return ctx.Response.WriteAsync("secret");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        for (var i = 0; i < 3; i++)
        {
            using var response = await edge.Viewer.GetAsync("/p");
            Assert.Equal("secret", await response.Content.ReadAsStringAsync());
            Assert.NotEqual("Hit", response.XCache());
        }

        Assert.Equal(3, origin.Count("/p"));
    }

    [Fact]
    public async Task No_cache_response_is_stored_but_revalidated_on_every_request()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "no-cache";
            ctx.Response.Headers.ETag = "\"nc\"";
            if (ctx.Request.Headers.IfNoneMatch == "\"nc\"")
            {
                ctx.Response.StatusCode = 304;
                return Task.CompletedTask;
            }

            return ctx.Response.WriteAsync("nc-body");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/nc")).Dispose();
        using var second = await edge.Viewer.GetAsync("/nc");
        Assert.Equal("RefreshHit", second.XCache());
        Assert.Equal("nc-body", await second.Content.ReadAsStringAsync());
        Assert.Equal(2, origin.Count("/nc"));
    }

    [Fact]
    public async Task Viewer_conditional_request_is_answered_304_from_cache()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.Headers.ETag = "\"abc\"";
            return ctx.Response.WriteAsync("conditional");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/c")).Dispose();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/c");
        request.Headers.TryAddWithoutValidation("If-None-Match", "W/\"zzz\", \"abc\"");
        using var response = await edge.Viewer.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
        Assert.Equal("\"abc\"", response.Header("ETag"));
        Assert.Equal(1, origin.Count("/c"));
    }

    [Fact]
    public async Task Head_is_answered_from_the_get_entry_without_a_body()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            return ctx.Response.WriteAsync("twelve bytes");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/h")).Dispose();
        using var head = await edge.Viewer.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/h"));
        Assert.Equal("Hit", head.XCache());
        Assert.Equal(12, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Single(origin.Requests);
    }

    [Fact]
    public async Task Request_directives_no_cache_max_age_and_only_if_cached_are_honoured()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=600";
            return ctx.Response.WriteAsync("d");
        });
        await using var edge = await EdgeNode.StartAsync(origin);

        using (var missing = await Send(edge, "/d", "only-if-cached"))
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, missing.StatusCode);
        }

        Assert.Equal(0, origin.Count("/d"));
        (await edge.Viewer.GetAsync("/d")).Dispose();
        edge.Time.Advance(TimeSpan.FromSeconds(30));
        using (var cached = await Send(edge, "/d", "only-if-cached"))
        {
            Assert.Equal("Hit", cached.XCache());
        }

        using (var tooOld = await Send(edge, "/d", "max-age=10"))
        {
            Assert.Equal("Miss", tooOld.XCache());
        }

        using (var noCache = await Send(edge, "/d", "no-cache"))
        {
            Assert.NotEqual("Hit", noCache.XCache());
        }

        Assert.Equal(3, origin.Count("/d"));
    }

    [Fact]
    public async Task Stale_while_revalidate_serves_stale_and_refreshes_once_in_the_background()
    {
        var version = 1;
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=10, stale-while-revalidate=60";
            return ctx.Response.WriteAsync("v" + version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/swr")).Dispose();
        version = 2;
        edge.Time.Advance(TimeSpan.FromSeconds(15));

        using var stale = await edge.Viewer.GetAsync("/swr");
        var staleBody = await stale.Content.ReadAsStringAsync();
        // Asserted together, with Cache-Status, so a failure says which path the node took.
        Assert.True(stale.XCache() == "Stale" && staleBody == "v1", $"served {stale.XCache()} {staleBody} [{stale.Header("Cache-Status")}]");

        // The refresh runs in the background; wait for it by polling the origin count (bounded), not by sleeping for expiry.
        await Eventually(() => origin.Count("/swr") == 2);
        var served = new List<string>();
        await Eventually(async () =>
        {
            using var fresh = await edge.Viewer.GetAsync("/swr");
            var body = await fresh.Content.ReadAsStringAsync();
            served.Add($"{fresh.XCache()} {body} [{fresh.Header("Cache-Status")}]");
            return fresh.XCache() == "Hit" && body == "v2";
        });
        Assert.True(origin.Count("/swr") == 2, $"origin saw {origin.Count("/swr")} requests for /swr; the node served: {string.Join("; ", served)}");
    }

    [Fact]
    public async Task Stale_if_error_serves_the_stored_copy_when_the_origin_fails()
    {
        var failing = false;
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            if (failing)
            {
                ctx.Response.StatusCode = 503;
                return ctx.Response.WriteAsync("down");
            }

            ctx.Response.Headers.CacheControl = "max-age=10, stale-if-error=300";
            return ctx.Response.WriteAsync("good");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/sie")).Dispose();
        failing = true;
        edge.Time.Advance(TimeSpan.FromSeconds(20));
        using var stale = await edge.Viewer.GetAsync("/sie");
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal("Stale", stale.XCache());
        Assert.Equal("good", await stale.Content.ReadAsStringAsync());

        edge.Time.Advance(TimeSpan.FromSeconds(400));
        using var tooStale = await edge.Viewer.GetAsync("/sie");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, tooStale.StatusCode);
    }

    [Fact]
    public async Task Must_revalidate_is_never_served_stale_on_error()
    {
        var up = true;
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            if (!up)
            {
                ctx.Abort();
                return Task.CompletedTask;
            }

            ctx.Response.Headers.CacheControl = "max-age=10, must-revalidate, stale-if-error=300";
            return ctx.Response.WriteAsync("mr");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/mr")).Dispose();
        up = false;
        edge.Time.Advance(TimeSpan.FromSeconds(20));
        using var response = await edge.Viewer.GetAsync("/mr");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("Error", response.XCache());
    }

    [Fact]
    public async Task Vary_keeps_a_variant_per_header_value()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.Headers.Vary = "Accept-Language";
            return ctx.Response.WriteAsync("lang=" + ctx.Request.Headers.AcceptLanguage);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].OriginRequest.Headers.Add("Accept-Language"));

        async Task<(string Cache, string Body)> Get(string lang)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v");
            request.Headers.TryAddWithoutValidation("Accept-Language", lang);
            using var response = await edge.Viewer.SendAsync(request);
            return (response.XCache(), await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(("Miss", "lang=en"), await Get("en"));
        Assert.Equal(("Miss", "lang=fr"), await Get("fr"));
        Assert.Equal(("Hit", "lang=en"), await Get("en"));
        Assert.Equal(("Hit", "lang=fr"), await Get("fr"));
        Assert.Equal(2, origin.Count("/v"));
    }

    [Fact]
    public async Task Vary_star_is_never_stored()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.Headers.Vary = "*";
            return ctx.Response.WriteAsync("star");
        });
        await using var edge = await EdgeNode.StartAsync(origin);
        (await edge.Viewer.GetAsync("/star")).Dispose();
        (await edge.Viewer.GetAsync("/star")).Dispose();
        Assert.Equal(2, origin.Count("/star"));
    }

    [Fact]
    public async Task Set_cookie_responses_are_not_shared_unless_the_behavior_allows_it()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.Headers.SetCookie = "session=abc";
            return ctx.Response.WriteAsync("cookie");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors.Insert(0, new Configuration.BehaviorOptions { PathPattern = "/shared/*", Origin = "origin", CacheSetCookieResponses = true }));
        (await edge.Viewer.GetAsync("/private")).Dispose();
        using var again = await edge.Viewer.GetAsync("/private");
        Assert.Equal("Miss", again.XCache());
        Assert.Equal(2, origin.Count("/private"));

        (await edge.Viewer.GetAsync("/shared/x")).Dispose();
        using var shared = await edge.Viewer.GetAsync("/shared/x");
        Assert.Equal("Hit", shared.XCache());
    }

    [Fact]
    public async Task Authorization_requests_are_cached_only_when_the_response_allows_it()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = ctx.Request.Path == "/public" ? "public, max-age=60" : "max-age=60";
            return ctx.Response.WriteAsync("user:" + ctx.Request.Headers.Authorization);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].OriginRequest.Headers.Add("Authorization"));

        async Task<HttpResponseMessage> Get(string path, string auth)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Authorization", auth);
            return await edge.Viewer.SendAsync(request);
        }

        (await Get("/mine", "Bearer alice")).Dispose();
        using (var bob = await Get("/mine", "Bearer bob"))
        {
            Assert.Equal("user:Bearer bob", await bob.Content.ReadAsStringAsync());
        }

        (await Get("/public", "Bearer alice")).Dispose();
        using (var shared = await Get("/public", "Bearer bob"))
        {
            Assert.Equal("Hit", shared.XCache());
        }

        Assert.Equal(2, origin.Count("/mine"));
        Assert.Equal(1, origin.Count("/public"));
    }

    [Fact]
    public async Task Post_invalidates_the_target_uri_and_its_location()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            if (HttpMethods.IsPost(ctx.Request.Method))
            {
                ctx.Response.StatusCode = 201;
                ctx.Response.Headers.Location = "/items/2";
                return Task.CompletedTask;
            }

            ctx.Response.Headers.CacheControl = "max-age=600";
            return ctx.Response.WriteAsync("item");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"]);
        (await edge.Viewer.GetAsync("/items")).Dispose();
        (await edge.Viewer.GetAsync("/items/2")).Dispose();
        using (var post = await edge.Viewer.PostAsync("/items", new StringContent("new")))
        {
            Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        }

        using var list = await edge.Viewer.GetAsync("/items");
        using var item = await edge.Viewer.GetAsync("/items/2");
        Assert.Equal("Miss", list.XCache());
        Assert.Equal("Miss", item.XCache());
    }

    [Fact]
    public async Task A_fetch_under_way_when_a_post_changes_its_uri_is_served_but_not_stored()
    {
        // The GET's response left the origin before the POST changed the resource: its viewer gets it, but storing it
        // after the invalidation would serve the pre-change copy for the whole TTL.
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var origin = await TestOrigin.StartAsync(async ctx =>
        {
            if (HttpMethods.IsPost(ctx.Request.Method))
            {
                ctx.Response.StatusCode = 204;
                return;
            }

            ctx.Response.Headers.CacheControl = "max-age=600";
            ctx.Response.ContentLength = 10;
            await ctx.Response.WriteAsync("before");
            await ctx.Response.Body.FlushAsync();
            await rest.Task;
            await ctx.Response.WriteAsync("-old");
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].AllowedMethods = ["GET", "HEAD", "POST"]);

        using var slow = await edge.Viewer.GetAsync("/doc", HttpCompletionOption.ResponseHeadersRead);
        using (var post = await edge.Viewer.PostAsync("/doc", new StringContent("change")))
        {
            Assert.Equal(HttpStatusCode.NoContent, post.StatusCode);
        }

        rest.SetResult();
        Assert.Equal("before-old", await slow.Content.ReadAsStringAsync());
        await Eventually(() => edge.Get<FetchCoordinator>().InFlightCount == 0);

        using var after = await edge.Viewer.GetAsync("/doc");
        Assert.Equal("Miss", after.XCache());
        Assert.Equal(2, origin.Requests.Count(r => r.Path == "/doc" && r.Method == "GET"));
    }

    [Theory]
    [InlineData(1024, false)]
    [InlineData(128 * 1024, false)]
    [InlineData(20_000, true)]
    public async Task A_stored_object_costs_the_memory_tier_about_its_own_size(int size, bool compressed)
    {
        // Not twice its size (a spare segment taken by the read that found the end), nor a whole 64 KiB segment for a
        // compressed copy of a few KB.
        var text = string.Concat(Enumerable.Repeat("edge cache ", size / 11 + 1))[..size];
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            ctx.Response.ContentType = compressed ? "text/plain" : "application/octet-stream";
            ctx.Response.ContentLength = size;
            return ctx.Response.WriteAsync(text);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o => o.Behaviors[0].Compress = compressed);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/sized");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", compressed ? "gzip" : "identity");
        using var response = await edge.Viewer.SendAsync(request);
        var received = await response.Content.ReadAsByteArrayAsync();
        await Eventually(() => edge.Get<FetchCoordinator>().InFlightCount == 0);

        // The body plus what the entry's bookkeeping keeps alive (about 1.7 KB here, see MemoryAccountingTests), nothing
        // like a second copy of the body or a 64 KiB segment. A body of known length from 85,000 bytes on is counted as the
        // in-memory file it is written into (listen.sendFile): whole pages and the kernel's structures for it.
        var mapped = !compressed && size >= FastPath.MappedBodyAllocator.MinimumBytes;
        var body = mapped ? FastPath.MappedBodyMemory.FootprintOf(received.Length) : received.Length;
        var overhead = edge.Get<Caching.MemoryCacheStore>().Bytes - body;
        Assert.InRange(overhead, 0, 2048);
        if (compressed)
        {
            Assert.True(received.Length < size / 4, $"compressed to {received.Length} bytes");
        }
    }

    [Fact]
    public async Task Methods_the_behavior_does_not_allow_get_405_with_allow()
    {
        await using var origin = await TestOrigin.StartAsync();
        await using var edge = await EdgeNode.StartAsync(origin);
        using var response = await edge.Viewer.PostAsync("/x", new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("GET, HEAD", response.Content.Headers.Allow.Count > 0 ? string.Join(", ", response.Content.Headers.Allow) : response.Header("Allow"));
        Assert.Empty(origin.Requests);
    }

    [Fact]
    public async Task Cache_key_ignores_query_parameters_and_headers_the_behavior_does_not_name()
    {
        await using var origin = await TestOrigin.StartAsync(ctx =>
        {
            ctx.Response.Headers.CacheControl = "max-age=60";
            return ctx.Response.WriteAsync("q=" + ctx.Request.QueryString);
        });
        await using var edge = await EdgeNode.StartAsync(origin, o =>
        {
            o.Behaviors[0].CacheKey.QueryStrings = "allowList";
            o.Behaviors[0].CacheKey.QueryStringNames = ["v"];
        });
        using (var first = await edge.Viewer.GetAsync("/k?v=1&utm=a"))
        {
            Assert.Equal("q=?v=1", await first.Content.ReadAsStringAsync());
        }

        using (var second = await edge.Viewer.GetAsync("/k?utm=b&v=1"))
        {
            Assert.Equal("Hit", second.XCache());
        }

        using (var third = await edge.Viewer.GetAsync("/k?v=2"))
        {
            Assert.Equal("Miss", third.XCache());
        }

        Assert.DoesNotContain(origin.Requests, r => r.Query.Contains("utm", StringComparison.Ordinal));
    }

    private static async Task<HttpResponseMessage> Send(EdgeNode edge, string path, string cacheControl)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        return await edge.Viewer.SendAsync(request);
    }

    internal static Task Eventually(Func<bool> condition) => Eventually(() => Task.FromResult(condition()));

    internal static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(20);
        }
    }
}
