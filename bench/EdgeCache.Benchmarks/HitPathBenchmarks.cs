using BenchmarkDotNet.Attributes;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Benchmarks;

/// <summary>
/// The viewer hit path, through the real <see cref="EdgeProxy.InvokeAsync"/> (the delegate the server runs per request)
/// with the entries pre-warmed through the real miss path. Each operation resets a reused context and serves one
/// request; <see cref="Harness"/> is that reset plus an empty delegate, so every other row minus it is EdgeCache's share.
/// </summary>
[MemoryDiagnoser]
public class HitPathBenchmarks
{
    private static readonly RequestDelegate Empty = static _ => Task.CompletedTask;

    private EdgeFixture _fixture = null!;
    private EdgeProxy _proxy = null!;
    private BenchContext _get1K = null!;
    private BenchContext _get128K = null!;
    private BenchContext _head1K = null!;
    private BenchContext _notModified1K = null!;
    private BenchContext _query1K = null!;
    private BenchContext _ignoredQuery1K = null!;
    private BenchContext _compressed1K = null!;
    private CacheBehavior _queryBehavior = null!;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Reset of the reused context plus an empty request delegate: what the harness itself costs.</summary>
    [Benchmark]
    public Task Harness()
    {
        _get1K.Reset();
        return Empty(_get1K.Context);
    }

    [Benchmark]
    public Task Hit1KiB()
    {
        _get1K.Reset();
        return _proxy.InvokeAsync(_get1K.Context);
    }

    [Benchmark]
    public Task Hit128KiB()
    {
        _get128K.Reset();
        return _proxy.InvokeAsync(_get128K.Context);
    }

    [Benchmark]
    public Task HeadHit1KiB()
    {
        _head1K.Reset();
        return _proxy.InvokeAsync(_head1K.Context);
    }

    /// <summary>If-None-Match matching the stored ETag: 304 from the cache.</summary>
    [Benchmark]
    public Task NotModifiedHit1KiB()
    {
        _notModified1K.Reset();
        return _proxy.InvokeAsync(_notModified1K.Context);
    }

    /// <summary>A behavior keyed on all query parameters, request "?b=2&amp;a=1&amp;c=x%20y" (normalized, sorted).</summary>
    [Benchmark]
    public Task QueryHit1KiB()
    {
        _query1K.Reset();
        return _proxy.InvokeAsync(_query1K.Context);
    }

    /// <summary>The default behavior (queryStrings "none"), request "?utm_source=news&amp;v=2": the query is neither keyed nor forwarded.</summary>
    [Benchmark]
    public Task IgnoredQueryHit1KiB()
    {
        _ignoredQuery1K.Reset();
        return _proxy.InvokeAsync(_ignoredQuery1K.Context);
    }

    /// <summary>A compress behavior; a browser's Accept-Encoding selects the stored Brotli variant (Vary: Accept-Encoding).</summary>
    [Benchmark]
    public Task CompressedHit1KiB()
    {
        _compressed1K.Reset();
        return _proxy.InvokeAsync(_compressed1K.Context);
    }

    /// <summary>Only the key: query normalization and the primary key string for the query behavior.</summary>
    [Benchmark]
    public string CacheKeyWithQuery()
    {
        var request = _query1K.Context.Request;
        var (keyQuery, _) = CacheKeyBuilder.Queries(_queryBehavior, request.QueryString);
        return CacheKeyBuilder.PrimaryKey(_queryBehavior, request.Path.Value!, keyQuery, request.Headers);
    }

    private async Task SetupAsync()
    {
        _fixture = await EdgeFixture.StartAsync();
        _proxy = _fixture.Proxy;
        _get1K = new BenchContext("GET", "/obj/1k");
        _get128K = new BenchContext("GET", "/obj/128k");
        _head1K = new BenchContext("HEAD", "/obj/1k");
        _notModified1K = new BenchContext("GET", "/obj/1k", "", (HeaderNames.IfNoneMatch, BenchOrigin.ETag));
        _query1K = new BenchContext("GET", "/q/1k", "?b=2&a=1&c=x%20y");
        _ignoredQuery1K = new BenchContext("GET", "/obj/1k", "?utm_source=news&v=2");
        _compressed1K = new BenchContext("GET", "/z/text", "", (HeaderNames.AcceptEncoding, "gzip, deflate, br, zstd"));
        _queryBehavior = _fixture.Behaviors.Match("/q/1k");

        await _fixture.FillAsync(_get1K, StatusCodes.Status200OK, 1024);
        await _fixture.FillAsync(_get128K, StatusCodes.Status200OK, 128 * 1024);
        await _fixture.FillAsync(_head1K, StatusCodes.Status200OK, 0);
        await _fixture.FillAsync(_notModified1K, StatusCodes.Status304NotModified, 0);
        await _fixture.FillAsync(_query1K, StatusCodes.Status200OK, 1024);
        await _fixture.FillAsync(_ignoredQuery1K, StatusCodes.Status200OK, 1024);
        await _fixture.FillAsync(_compressed1K, StatusCodes.Status200OK, null, "br");
    }
}
