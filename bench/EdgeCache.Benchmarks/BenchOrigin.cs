using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeCache.Benchmarks;

/// <summary>
/// The origin the cache is filled from, shaped like bench/origin.js (fixed bodies, Cache-Control: public,
/// max-age=3600, an ETag, no Server header; Kestrel adds Date). The hit benchmarks use it in-process during set-up
/// only; the miss benchmarks run it in a process of its own (<see cref="OriginProcess"/>) so its allocations are not
/// counted. Any path under <c>/m/</c> is the 1 KiB object, so every miss can use a new key. Listens on an ephemeral
/// loopback port.
/// </summary>
internal sealed class BenchOrigin : IAsyncDisposable
{
    public const string ETag = "\"0123456789abcdef\"";

    private readonly WebApplication _app;

    private BenchOrigin(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }

    public static async Task<BenchOrigin> StartAsync()
    {
        var random = new Random(42);
        var bodies = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, size) in new[] { ("1k", 1024), ("128k", 128 * 1024) })
        {
            var body = new byte[size];
            random.NextBytes(body);
            bodies[name] = body;
        }

        // Compressible text for the compress behavior (the node stores a Brotli variant with Vary: Accept-Encoding).
        var text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("EdgeCache benchmark text body. ", 64)));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        var app = builder.Build();
        app.Run(async context =>
        {
            var path = context.Request.Path.Value ?? "";
            var name = path.StartsWith("/m/", StringComparison.Ordinal) ? "1k" : path[(path.LastIndexOf('/') + 1)..];
            var isText = path.StartsWith("/z/", StringComparison.Ordinal);
            if (!isText && !bodies.ContainsKey(name))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            var body = isText ? text : bodies[name];
            context.Response.ContentType = isText ? "text/plain; charset=utf-8" : "application/octet-stream";
            context.Response.ContentLength = body.Length;
            context.Response.Headers.CacheControl = "public, max-age=3600";
            context.Response.Headers.ETag = ETag;
            await context.Response.Body.WriteAsync(body);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BenchOrigin(app, address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
