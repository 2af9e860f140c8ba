using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A real HTTP origin on a loopback socket whose answers the test scripts with <see cref="Handler"/>;
/// it records every request it sees so tests can prove hits, collapsing and revalidation by counting.
/// </summary>
public sealed class TestOrigin : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestOrigin(WebApplication app)
    {
        _app = app;
    }

    /// <summary>Known once started: the origin binds port 0, so no other test can take its port in between.</summary>
    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>When set (by <see cref="EdgeNode"/>), the origin stamps Date from the test's clock, as a real origin shares real time with the node.</summary>
    public TimeProvider? Clock { get; set; }

    public Func<HttpContext, Task> Handler { get; set; } = context => context.Response.WriteAsync("default");

    public ConcurrentQueue<SeenRequest> Requests { get; } = new();

    public int Count(string path) => Requests.Count(r => r.Path == path);

    public static async Task<TestOrigin> StartAsync(Func<HttpContext, Task>? handler = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var app = builder.Build();
        var origin = new TestOrigin(app);
        if (handler is not null)
        {
            origin.Handler = handler;
        }

        app.Run(async context =>
        {
            origin.Requests.Enqueue(new SeenRequest(
                context.Request.Method,
                context.Request.Path.Value ?? "",
                context.Request.QueryString.Value ?? "",
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            if (origin.Clock is { } clock)
            {
                context.Response.Headers.Date = clock.GetUtcNow().ToString("R");
            }

            await origin.Handler(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.GetRequiredFeature<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>().Addresses.Single();
        origin.Port = new Uri(address).Port;
        return origin;
    }

    /// <summary>
    /// An origin that sends the first <paramref name="first"/> bytes of <paramref name="body"/> and flushes them, then the
    /// rest once <paramref name="gate"/> opens: with Content-Length, or chunked when <paramref name="withLength"/> is false.
    /// </summary>
    public static Task<TestOrigin> StartGatedAsync(byte[] body, int first, Task gate, bool withLength = true, string? cacheControl = "max-age=60", int status = 200) =>
        StartAsync(async ctx =>
        {
            ctx.Response.StatusCode = status;
            if (cacheControl is not null)
            {
                ctx.Response.Headers.CacheControl = cacheControl;
            }

            if (withLength)
            {
                ctx.Response.ContentLength = body.Length;
            }

            await ctx.Response.Body.WriteAsync(body.AsMemory(0, first));
            await ctx.Response.Body.FlushAsync();
            await gate;
            await ctx.Response.Body.WriteAsync(body.AsMemory(first));
        });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

public sealed record SeenRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers);
