using EdgeCache.Configuration;
using Microsoft.Extensions.Options;

namespace EdgeCache.Behaviors;

/// <summary>The ordered behaviors; the first whose pattern matches wins, and the last ('*') matches everything.</summary>
public sealed class BehaviorTable
{
    private readonly CacheBehavior[] _behaviors;

    public BehaviorTable(IOptions<EdgeCacheOptions> options)
        : this(options.Value.Behaviors)
    {
    }

    public BehaviorTable(IReadOnlyList<BehaviorOptions> behaviors)
    {
        _behaviors = [.. behaviors.Select((b, i) => new CacheBehavior(i, b))];
    }

    public IReadOnlyList<CacheBehavior> All => _behaviors;

    public CacheBehavior Match(ReadOnlySpan<char> path)
    {
        foreach (var behavior in _behaviors)
        {
            if (behavior.Pattern.IsMatch(path))
            {
                return behavior;
            }
        }

        // Validation guarantees the last pattern is '*'.
        return _behaviors[^1];
    }
}
