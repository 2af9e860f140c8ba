using EdgeCache.Behaviors;
using EdgeCache.Syntax;

namespace EdgeCache.Purging;

/// <summary>Which cached paths a purge removes.</summary>
public sealed class PurgeMatcher
{
    private readonly HashSet<string>? _paths;
    private readonly string? _prefix;
    private readonly PathPattern? _pattern;
    private readonly bool _all;

    private PurgeMatcher(HashSet<string>? paths, string? prefix, PathPattern? pattern, bool all, string description)
    {
        _paths = paths;
        _prefix = prefix;
        _pattern = pattern;
        _all = all;
        Description = description;
    }

    public string Description { get; }

    /// <summary>Validates the request: a bad one gets a message naming the field at fault.</summary>
    public static PurgeMatcher? TryCreate(PurgeRequest request, out string? error)
    {
        error = null;
        var given = (request.Paths is { Count: > 0 } ? 1 : 0) + (request.Prefix is not null ? 1 : 0) + (request.Pattern is not null ? 1 : 0) + (request.All ? 1 : 0);
        if (given != 1)
        {
            error = "give exactly one of \"paths\" (non-empty list), \"prefix\", \"pattern\" or \"all\": true";
            return null;
        }

        if (request.All)
        {
            return new PurgeMatcher(null, null, null, all: true, "all");
        }

        if (request.Paths is { Count: > 0 } paths)
        {
            for (var i = 0; i < paths.Count; i++)
            {
                if (!RequestPathValidator.TryValidate(paths[i], out var problem))
                {
                    error = $"paths[{i}]: {problem}";
                    return null;
                }
            }

            return new PurgeMatcher(new HashSet<string>(paths, StringComparer.Ordinal), null, null, all: false, $"paths ({paths.Count})");
        }

        if (request.Prefix is { } prefix)
        {
            if (!prefix.StartsWith('/'))
            {
                error = "prefix: must start with '/'";
                return null;
            }

            return new PurgeMatcher(null, prefix, null, all: false, "prefix " + prefix);
        }

        var pattern = request.Pattern!;
        if (!(pattern == "*" || pattern.StartsWith('/')) || !PathPattern.IsValid(pattern))
        {
            error = "pattern: must be '*' or start with '/', without spaces, '#', '\\' or control characters";
            return null;
        }

        return new PurgeMatcher(null, null, new PathPattern(pattern), all: false, "pattern " + pattern);
    }

    public bool Matches(string path) =>
        _all
        || (_paths?.Contains(path) ?? false)
        || (_prefix is not null && path.StartsWith(_prefix, StringComparison.Ordinal))
        || (_pattern?.IsMatch(path) ?? false);
}
