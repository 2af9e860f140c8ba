using Microsoft.Extensions.FileProviders;

namespace EdgeCache.Hosting;

/// <summary>
/// The embedded default's origin: the bundled sample site served by a second Kestrel on loopback, so a newcomer
/// sees a real origin fetch (MISS) and then a HIT with no cloud account. Only started when no config is given.
/// </summary>
public static class SampleOrigin
{
    public static WebApplication Build(string root, int port)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port));
        var app = builder.Build();
        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = context =>
            {
                // HTML revalidates often; assets are long-lived: the two TTL behaviours the README demonstrates.
                context.Context.Response.Headers.CacheControl = context.File.Name.EndsWith(".html", StringComparison.Ordinal)
                    ? "public, max-age=60, stale-while-revalidate=30"
                    : "public, max-age=86400";
            },
        });
        // A large object too, so the sample shows what large hits do: the fetch writes it into an in-memory file and
        // hits go out with sendfile (listen.sendFile; edgecache_sendfile_bodies on /metrics). Bytes i % 251, so a
        // client can check what it got without a copy of the file.
        var download = new byte[256 * 1024];
        for (var i = 0; i < download.Length; i++)
        {
            download[i] = (byte)(i % 251);
        }

        app.MapGet("/downloads/sample.bin", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "public, max-age=86400";
            return Results.Bytes(download, "application/octet-stream");
        });
        app.MapGet("/api/time", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "public, max-age=5";
            return Results.Json(new { servedBy = "sample-origin", utc = DateTimeOffset.UtcNow });
        });
        return app;
    }
}
