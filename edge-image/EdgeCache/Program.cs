using EdgeCache.Configuration;
using EdgeCache.Hosting;
using EdgeCache.Memory;

// EdgeCache: the caching reverse proxy in every edge node.
//   dotnet run --project edge-image/EdgeCache                 → embedded default: sample site origin on 127.0.0.1:8081
//   dotnet run --project edge-image/EdgeCache -- --config F   → or EDGECACHE_CONFIG=F
//   EdgeCache --healthcheck                                   → exit 0 when the admin /healthz answers (container HEALTHCHECK)
string? configPath = Environment.GetEnvironmentVariable("EDGECACHE_CONFIG");
var healthcheck = false;
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--config" && i + 1 < args.Length)
    {
        configPath = args[++i];
    }
    else if (args[i] == "--healthcheck")
    {
        healthcheck = true;
    }
    else if (args[i] is "--help" or "-h")
    {
        Console.WriteLine("usage: EdgeCache [--config <edgecache.json>]   (or EDGECACHE_CONFIG); no config runs the embedded sample site.");
        return 0;
    }
    else
    {
        Console.Error.WriteLine($"unknown argument '{args[i]}' (usage: EdgeCache [--config <edgecache.json>])");
        return 2;
    }
}

var embedded = string.IsNullOrEmpty(configPath);
configPath ??= Path.Combine(AppContext.BaseDirectory, EdgeCacheConfigLoader.DefaultConfigFileName);

EdgeCacheOptions options;
try
{
    options = EdgeCacheConfigLoader.Load(configPath);
}
catch (ConfigurationException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (options.Listen.InlineIo && Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
{
    // The runtime reads this once, when the first socket goes async, so setting it here (before any socket exists) is
    // enough. With Kestrel's inline scheduling (EdgeCacheHost) it removes the thread-pool hop on every socket event.
    // An operator's own value (0 or 1) wins.
    Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
}

if (healthcheck)
{
    // The runtime image has no curl: the server binary probes itself (same config, same admin port).
    return await HealthCheck.RunAsync(options);
}

// The runtime read its container's limit when it started and sized the heap from it (or from DOTNET_GCHeapHardLimit):
// a tier that cannot fit beside the runtime would get the node OOM-killed once it fills, so it stops here instead.
var memory = MemoryBudget.Plan(options, ContainerMemoryLimit.Read(), GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
if (memory.Errors.Count > 0)
{
    Console.Error.WriteLine(string.Join(Environment.NewLine, memory.Errors));
    return 2;
}

var listenErrors = ListenPreflight.Check(options.Listen);
if (listenErrors.Count > 0)
{
    Console.Error.WriteLine(string.Join(Environment.NewLine, listenErrors));
    return 2;
}

WebApplication? sample = null;
if (embedded)
{
    var origin = new Uri(options.Origins[0].Url!);
    sample = SampleOrigin.Build(Path.Combine(AppContext.BaseDirectory, "sample-site"), origin.Port);
    await sample.StartAsync();
    Console.WriteLine($"Embedded default: sample site origin on {origin}, viewers on http://{options.Listen.Address}:{options.Listen.ViewerPort}/, admin on http://{options.Listen.Address}:{options.Listen.AdminPort}/");
}

await using (var app = EdgeCacheHost.Build(options, services => services.AddSingleton(memory)))
{
    MemoryBudget.Log(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(MemoryBudget).FullName!), memory, options);
    try
    {
        await app.StartAsync();
    }
    catch (Exception ex) when (ListenPreflight.IsBindFailure(ex))
    {
        // Taken between the check and the bind: say which, as the check would have.
        var lines = ListenPreflight.Check(options.Listen);
        Console.Error.WriteLine(lines.Count > 0 ? string.Join(Environment.NewLine, lines) : $"listen: {ex.Message}");
        return 2;
    }

    await app.WaitForShutdownAsync();
}

if (sample is not null)
{
    await sample.StopAsync();
}

return 0;
