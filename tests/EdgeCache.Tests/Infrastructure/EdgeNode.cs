using EdgeCache.Configuration;
using EdgeCache.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// The real edge node (Kestrel on real loopback sockets) with a <see cref="FakeTimeProvider"/>, so tests move time
/// instead of sleeping. <see cref="Viewer"/> talks to the viewer port, <see cref="Admin"/> to the admin port.
/// </summary>
public sealed class EdgeNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EdgeNode(WebApplication app, EdgeCacheOptions options, FakeTimeProvider time)
    {
        _app = app;
        Options = options;
        Time = time;
        Services = app.Services;
        Viewer = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None, UseCookies = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{options.Listen.ViewerPort}"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        Admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{options.Listen.AdminPort}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public EdgeCacheOptions Options { get; }

    public FakeTimeProvider Time { get; }

    public IServiceProvider Services { get; }

    public HttpClient Viewer { get; }

    public HttpClient Admin { get; }

    public int ViewerPort => Options.Listen.ViewerPort;

    /// <summary>One http origin "origin" and one default behavior; <paramref name="configure"/> adjusts the rest.</summary>
    /// <param name="configureLogging">Runs after the node's own logging set-up (e.g. to capture the access log).</param>
    /// <param name="configureServices">Runs after the node's own service registrations (e.g. to wrap one).</param>
    public static async Task<EdgeNode> StartAsync(TestOrigin origin, Action<EdgeCacheOptions>? configure = null, Action<ILoggingBuilder>? configureLogging = null, Action<IServiceCollection>? configureServices = null)
    {
        var node = await StartAsync(
            options =>
            {
                options.Origins.Add(new OriginOptions { Id = "origin", Type = "http", Url = origin.Url, ReadTimeoutMs = 5000, ConnectTimeoutMs = 2000 });
                options.Behaviors.Add(new BehaviorOptions { PathPattern = "*", Origin = "origin" });
                configure?.Invoke(options);
            },
            configureLogging,
            configureServices);
        origin.Clock = node.Time;
        return node;
    }

    public static async Task<EdgeNode> StartAsync(Action<EdgeCacheOptions> configure, Action<ILoggingBuilder>? configureLogging = null, Action<IServiceCollection>? configureServices = null)
    {
        // The node must know its ports before it starts (admin vs viewer), so they are picked free and may be taken by
        // a parallel test before the bind: retry with new ones rather than flake.
        for (var attempt = 1; ; attempt++)
        {
            var options = new EdgeCacheOptions();
            options.Node.Name = "edge-test";
            options.Listen.Address = "127.0.0.1";
            options.Listen.ViewerPort = FreePort.Next();
            options.Listen.AdminPort = FreePort.Next();
            options.AccessLog.Enabled = false;
            options.Cache.MemoryBytes = 64L * 1024 * 1024;
            configure(options);

            // As the server's loader does: test.sh runs the end-to-end suite again with EDGECACHE_FAST_PATH=off.
            if (FastPathSwitch.Parse(Environment.GetEnvironmentVariable(FastPathSwitch.Variable)) is { } fastPath)
            {
                options.Listen.FastPath = fastPath;
            }

            var errors = EdgeCacheOptionsValidator.Collect(options);
            if (errors.Count > 0)
            {
                throw new InvalidOperationException("test config invalid: " + string.Join("; ", errors));
            }

            // Starts at real "now": the loopback origin stamps real Date headers, and apparent age (RFC 9111 4.2.3) compares the two.
            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var app = EdgeCacheHost.Build(
                options,
                services =>
                {
                    services.AddSingleton<TimeProvider>(time);
                    configureServices?.Invoke(services);
                },
                logging =>
                {
                    logging.SetMinimumLevel(LogLevel.Warning);
                    configureLogging?.Invoke(logging);
                });
            try
            {
                await app.StartAsync();
                return new EdgeNode(app, options, time);
            }
            catch (IOException ex) when (attempt < 5 && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await app.DisposeAsync();
            }
        }
    }

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        Viewer.Dispose();
        Admin.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
