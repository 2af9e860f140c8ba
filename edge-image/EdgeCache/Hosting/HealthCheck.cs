using EdgeCache.Configuration;

namespace EdgeCache.Hosting;

/// <summary><c>EdgeCache --healthcheck</c>: GET the admin /healthz of the node running beside it; exit 0 if it answers 200.</summary>
public static class HealthCheck
{
    public static async Task<int> RunAsync(EdgeCacheOptions options)
    {
        var host = options.Listen.Address is "0.0.0.0" or "::" ? "127.0.0.1" : options.Listen.Address;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var response = await client.GetAsync(new Uri($"http://{host}:{options.Listen.AdminPort}/healthz")).ConfigureAwait(false);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"healthcheck failed: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
