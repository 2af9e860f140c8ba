using EdgeCache.Configuration;
using EdgeCache.Observability;
using Microsoft.Extensions.Options;

namespace EdgeCache.Origins;

/// <summary>The configured origins by id; built once at start-up (groups after the origins they name).</summary>
public sealed class OriginRegistry : IDisposable
{
    private readonly Dictionary<string, IOrigin> _origins = new(StringComparer.Ordinal);

    public OriginRegistry(IOptions<EdgeCacheOptions> options, TimeProvider time, EdgeCacheMetrics metrics, OriginHealth health, ILoggerFactory loggers)
    {
        foreach (var origin in options.Value.Origins)
        {
            switch (origin.Type)
            {
                case "s3":
                    _origins[origin.Id] = new ObservedOrigin(new S3Origin(origin, time), health);
                    break;
                case "http":
                    _origins[origin.Id] = new ObservedOrigin(new HttpOrigin(origin, time), health);
                    break;
            }
        }

        foreach (var group in options.Value.Origins.Where(o => o.Type == "group"))
        {
            _origins[group.Id] = new ObservedOrigin(new OriginGroup(group, _origins[group.Primary!], _origins[group.Secondary!], time, metrics, loggers.CreateLogger<OriginGroup>()), health);
        }
    }

    public IOrigin this[string id] => _origins[id];

    /// <summary>Every origin, groups included.</summary>
    public IEnumerable<IOrigin> All => _origins.Values;

    public void Dispose()
    {
        foreach (var origin in _origins.Values)
        {
            (origin as IDisposable)?.Dispose();
        }
    }
}
