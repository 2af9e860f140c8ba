using System.Net;
using System.Text;
using EdgeCache.Admin;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.FastPath;
using EdgeCache.Fetching;
using EdgeCache.Invalidation;
using EdgeCache.Observability;
using EdgeCache.Origins;
using EdgeCache.Proxy;
using EdgeCache.ProxyProtocol;
using EdgeCache.Purging;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EdgeCache.Hosting;

/// <summary>Builds the edge node: Kestrel on the viewer and admin ports, the cache, the origins and the proxy.</summary>
public static class EdgeCacheHost
{
    public static WebApplication Build(EdgeCacheOptions options, Action<IServiceCollection>? configureServices = null, Action<ILoggingBuilder>? configureLogging = null)
    {
        var fastPath = LinuxFastPath.For(options.Listen);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(json =>
        {
            json.UseUtcTimestamp = true;
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        configureLogging?.Invoke(builder.Logging);

        // ASP.NET Core's hosting layer starts an Activity and a log scope for every request whenever its logger is
        // enabled at any level, to give request logs a trace id; its request logs are Information and below, and the
        // node writes its own access log. Off, a hit allocates nothing in the host: ~860 B per hit and 11 gen0 GCs a
        // second less under load in bench/ (1 KiB hits +10 %). Last, so no later filter turns it back on.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Origin header values are relayed as the bytes they were (Latin-1 both ways, OriginHeaderValue): Kestrel's
            // default, ASCII, throws on obs-text such as a UTF-8 file name, which would fail every request for the URL.
            kestrel.ResponseHeaderEncodingSelector = static _ => Encoding.Latin1;
            kestrel.Limits.MaxRequestHeadersTotalSize = options.Limits.MaxRequestHeadersBytes;
            kestrel.Limits.MaxRequestLineSize = options.Limits.MaxRequestLineBytes;
            kestrel.Limits.MaxRequestBodySize = options.Limits.MaxRequestBodyBytes;
            kestrel.Limits.MinRequestBodyDataRate = options.Limits.MinRequestBodyBytesPerSecond == 0
                ? null
                : new MinDataRate(options.Limits.MinRequestBodyBytesPerSecond, TimeSpan.FromSeconds(options.Limits.RequestBodyGracePeriodSeconds));
            var address = IPAddress.Parse(options.Listen.Address);
            kestrel.Listen(address, options.Listen.ViewerPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (options.Listen.ProxyProtocol)
                {
                    // First: the header is consumed before anything else reads the connection.
                    listen.UseProxyProtocol();
                }

                listen.UseLinuxFastPath(fastPath);
            });
            kestrel.Listen(address, options.Listen.AdminPort, listen => listen.Protocols = HttpProtocols.Http1);
            HttpsRedirectEndpoint.Listen(kestrel, address, options.Listen);
        });

        if (options.Listen.InlineIo)
        {
            // Continuations run on the epoll thread that saw the data: no thread-pool hop (and its futex wake-up) per
            // read and write. Profiled in bench/: context switches were a fifth of a hit's CPU before this.
            builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        }

        var services = builder.Services;
        // The Linux fast path (FastPath/README.md): the parts the listen options ask for, none if its switch is off.
        services.AddLinuxFastPath(fastPath);
        services.AddSingleton<IOptions<EdgeCacheOptions>>(Options.Create(options));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<EdgeCacheMetrics>();
        services.AddSingleton<MemoryCacheStore>();
        services.AddSingleton<DiskCacheStore>();
        // First hosted service: the disk index is built before the node takes traffic, and flushed last on shutdown.
        services.AddHostedService(sp => sp.GetRequiredService<DiskCacheStore>());
        // Next: the node catches up with the fleet's invalidation log (when configured) before Kestrel starts.
        services.AddInvalidationFollower(options);
        services.AddSingleton<OriginRegistry>();
        services.AddSingleton<BehaviorTable>();
        services.AddSingleton<PurgeLog>();
        services.AddSingleton<PurgeService>();
        services.AddSingleton<FetchCoordinator>();
        services.AddSingleton<EdgeProxy>();
        services.AddReadiness(options);
        // SIGTERM: Kestrel stops accepting and in-flight responses get this long to finish.
        services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(options.Shutdown.GracePeriodSeconds));
        configureServices?.Invoke(services);

        var app = builder.Build();
        var adminPort = options.Listen.AdminPort;
        app.MapWhen(context => context.Connection.LocalPort == adminPort, AdminEndpoints.Map);
        HttpsRedirectEndpoint.Map(app, options);
        var proxy = app.Services.GetRequiredService<EdgeProxy>();
        app.Run(proxy.InvokeAsync);
        return app;
    }
}
