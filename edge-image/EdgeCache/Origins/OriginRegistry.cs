using EdgeCache.Configuration;
using Microsoft.Extensions.Options;

namespace EdgeCache.Origins;

/// <summary>The configured origins by id; built once at start-up.</summary>
public sealed class OriginRegistry : IDisposable
{
    private readonly Dictionary<string, IOrigin> _origins = new(StringComparer.Ordinal);

    public OriginRegistry(IOptions<EdgeCacheOptions> options)
    {
        foreach (var origin in options.Value.Origins)
        {
            _origins[origin.Id] = origin.Type switch
            {
                "s3" => new S3Origin(origin),
                _ => new HttpOrigin(origin),
            };
        }
    }

    public IOrigin this[string id] => _origins[id];

    public IEnumerable<IOrigin> All => _origins.Values;

    public void Dispose()
    {
        foreach (var origin in _origins.Values)
        {
            (origin as IDisposable)?.Dispose();
        }
    }
}
