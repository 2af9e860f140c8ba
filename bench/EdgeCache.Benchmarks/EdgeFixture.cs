using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Hosting;
using EdgeCache.Observability;
using EdgeCache.Proxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeCache.Benchmarks;

/// <summary>
/// The edge node's services exactly as the server builds them (<see cref="EdgeCacheHost.Build"/>, never started: no
/// sockets), tuned as bench/run.sh tunes the published node (memory tier 512 MiB, access log off), with the objects
/// filled through the real miss path from a <see cref="BenchOrigin"/>.
/// </summary>
internal sealed class EdgeFixture : IAsyncDisposable
{
    private readonly BenchOrigin? _origin;
    private readonly WebApplication _app;

    private EdgeFixture(BenchOrigin? origin, WebApplication app)
    {
        _origin = origin;
        _app = app;
        Proxy = app.Services.GetRequiredService<EdgeProxy>();
        Behaviors = app.Services.GetRequiredService<BehaviorTable>();
        Metrics = app.Services.GetRequiredService<EdgeCacheMetrics>();
        Store = app.Services.GetRequiredService<MemoryCacheStore>();
    }

    /// <summary>The request delegate EdgeCacheHost hands to app.Run (viewer port).</summary>
    public EdgeProxy Proxy { get; }

    public BehaviorTable Behaviors { get; }

    public EdgeCacheMetrics Metrics { get; }

    public MemoryCacheStore Store { get; }

    /// <param name="originUrl">An origin already running (the miss benchmarks' own process); null starts a <see cref="BenchOrigin"/> in this process.</param>
    /// <param name="memoryBytes">The memory tier's budget: 512 MiB as run.sh sets it, smaller for the miss benchmarks so the tier evicts instead of growing.</param>
    public static async Task<EdgeFixture> StartAsync(string? originUrl = null, long memoryBytes = 512L * 1024 * 1024)
    {
        var origin = originUrl is null ? await BenchOrigin.StartAsync() : null;
        var options = new EdgeCacheOptions();
        options.Node.Name = "edge-bench";
        options.Listen.Address = "127.0.0.1";
        options.Listen.ViewerPort = 65080; // never bound: the host is built, not started
        options.Listen.AdminPort = 65090;
        options.AccessLog.Enabled = false;
        options.Readiness.RequireOrigins = false;
        options.Cache.MemoryBytes = memoryBytes;
        options.Cache.MaxObjectBytes = Math.Min(16L * 1024 * 1024, memoryBytes);
        options.Origins.Add(new OriginOptions { Id = "origin", Type = "http", Url = originUrl ?? origin!.Url });
        options.Behaviors.Add(new BehaviorOptions { PathPattern = "/q/*", Origin = "origin", DefaultTtlSeconds = 3600, CacheKey = new CacheKeyOptions { QueryStrings = "all" } });
        options.Behaviors.Add(new BehaviorOptions { PathPattern = "/z/*", Origin = "origin", DefaultTtlSeconds = 3600, Compress = true });
        options.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "origin", DefaultTtlSeconds = 3600 });
        var errors = EdgeCacheOptionsValidator.Collect(options);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("benchmark config invalid: " + string.Join("; ", errors));
        }

        return new EdgeFixture(origin, EdgeCacheHost.Build(options));
    }

    /// <summary>Sends <paramref name="context"/> once through the proxy as the miss that fills the cache, then checks it is served as a hit.</summary>
    public async Task FillAsync(BenchContext context, int expectedStatus, long? expectedBytes, string? expectedEncoding = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            context.Reset();
            await Proxy.InvokeAsync(context.Context);
            var response = context.Context.Response;
            if (response.Headers["X-Cache"] == "Hit")
            {
                if (response.StatusCode != expectedStatus || (expectedBytes is { } bytes && context.BodyBytes != bytes) || response.Headers.ContentEncoding != expectedEncoding)
                {
                    throw new InvalidOperationException(
                        $"{context.Context.Request.Method} {context.Context.Request.Path}{context.Context.Request.QueryString}: hit with {response.StatusCode}, {context.BodyBytes} bytes, encoding '{response.Headers.ContentEncoding}'; expected {expectedStatus}, {expectedBytes}, '{expectedEncoding}'");
                }

                context.Reset();
                return;
            }

            if (attempt == 50)
            {
                throw new InvalidOperationException($"{context.Context.Request.Path}: still not a hit ({response.StatusCode}, {response.Headers["Cache-Status"]})");
            }

            // The fill stores the entry when the origin's body completes; give it a moment.
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        if (_origin is not null)
        {
            await _origin.DisposeAsync();
        }
    }
}
