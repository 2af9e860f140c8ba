using System.Diagnostics.CodeAnalysis;

namespace EdgeCache.InvalidationLog;

/// <summary>
/// What an invalidation removes, with the same meaning as the admin <c>/purge</c>: exact <see cref="Paths"/> (every
/// query-string and header variant), a path <see cref="Prefix"/>, a CloudFront-style <see cref="Pattern"/>
/// (<c>/img/*</c>, <c>?</c> for one character) or <see cref="All"/>. Exactly one is set.
/// </summary>
public sealed class InvalidationTarget
{
    private InvalidationTarget(IReadOnlyList<string>? paths, string? prefix, string? pattern, bool all)
    {
        Paths = paths;
        Prefix = prefix;
        Pattern = pattern;
        All = all;
    }

    public IReadOnlyList<string>? Paths { get; }

    public string? Prefix { get; }

    public string? Pattern { get; }

    public bool All { get; }

    public string Description =>
        All ? "all" : Paths is { } paths ? (paths.Count == 1 ? "path " + paths[0] : $"paths ({paths.Count})") : Prefix is { } prefix ? "prefix " + prefix : "pattern " + Pattern;

    /// <summary>
    /// Checks the shape a writer may put in the log; <paramref name="error"/> names the field at fault. An edge node
    /// checks a record again with its own purge rules before applying it.
    /// </summary>
    public static bool TryCreate(IReadOnlyList<string>? paths, string? prefix, string? pattern, bool all, [NotNullWhen(true)] out InvalidationTarget? target, [NotNullWhen(false)] out string? error)
    {
        target = null;
        var given = (paths is { Count: > 0 } ? 1 : 0) + (prefix is not null ? 1 : 0) + (pattern is not null ? 1 : 0) + (all ? 1 : 0);
        if (given != 1)
        {
            error = given == 0
                ? "nothing to invalidate: give paths, a prefix, a pattern or all"
                : "give exactly one of paths, prefix, pattern or all";
            return false;
        }

        if (paths is { Count: > 0 })
        {
            for (var i = 0; i < paths.Count; i++)
            {
                if (CheckPath(paths[i]) is { } problem)
                {
                    error = $"paths[{i}]: {problem}";
                    return false;
                }
            }

            target = new InvalidationTarget([.. paths], null, null, all: false);
        }
        else if (prefix is not null)
        {
            if (prefix.Length == 0 || prefix[0] != '/' || HasForbiddenCharacter(prefix))
            {
                error = $"prefix: '{prefix}' must start with '/' and contain no spaces, control characters, '\\' or '#'";
                return false;
            }

            target = new InvalidationTarget(null, prefix, null, all: false);
        }
        else if (pattern is not null)
        {
            if (!(pattern == "*" || (pattern.Length > 0 && pattern[0] == '/')) || HasForbiddenCharacter(pattern))
            {
                error = $"pattern: '{pattern}' must be '*' or start with '/', without spaces, control characters, '\\' or '#'";
                return false;
            }

            target = new InvalidationTarget(null, null, pattern, all: false);
        }
        else
        {
            target = new InvalidationTarget(null, null, null, all: true);
        }

        error = null;
        return true;
    }

    /// <summary>A path as the node keys it: decoded, from '/', without the query (every query variant is invalidated).</summary>
    public static string? CheckPath(string path)
    {
        if (path.Length == 0)
        {
            return "is empty; a path starts with '/'";
        }

        if (path[0] != '/')
        {
            return $"'{path}' must start with '/'";
        }

        if (path.Contains('?'))
        {
            return $"'{path}' has a query string; give the path alone (every query-string variant is invalidated)";
        }

        if (path.Contains('*'))
        {
            return $"'{path}' has a wildcard; use a pattern (--pattern '{path}') for that";
        }

        if (HasForbiddenCharacter(path) || path.Contains('%'))
        {
            return $"'{path}' contains a space, control character, '\\', '#' or '%' (give the decoded path)";
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment is "." or "..")
            {
                return $"'{path}' contains a '.' or '..' segment";
            }
        }

        return null;
    }

    private static bool HasForbiddenCharacter(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) || c is ' ' or '#' or '\\')
            {
                return true;
            }
        }

        return false;
    }
}
