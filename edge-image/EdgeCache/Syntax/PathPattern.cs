namespace EdgeCache.Syntax;

/// <summary>
/// CloudFront path-pattern matching: case-sensitive, '*' matches any run of characters (including '/'),
/// '?' exactly one. Hand-written because Microsoft.Extensions.FileSystemGlobbing has different semantics
/// ('*' stops at '/', '**' for directories) and a regex per behavior would be slower on every request.
/// </summary>
public sealed class PathPattern
{
    private readonly string _pattern;

    public PathPattern(string pattern)
    {
        _pattern = pattern;
    }

    public override string ToString() => _pattern;

    public static bool IsValid(string pattern)
    {
        foreach (var c in pattern)
        {
            if (char.IsControl(c) || c is ' ' or '#' or '\\')
            {
                return false;
            }
        }

        return true;
    }

    public bool IsMatch(ReadOnlySpan<char> path)
    {
        var p = _pattern.AsSpan();
        int pi = 0, si = 0, star = -1, mark = 0;
        while (si < path.Length)
        {
            if (pi < p.Length && (p[pi] == '?' || p[pi] == path[si]))
            {
                pi++;
                si++;
            }
            else if (pi < p.Length && p[pi] == '*')
            {
                star = pi++;
                mark = si;
            }
            else if (star >= 0)
            {
                pi = star + 1;
                si = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (pi < p.Length && p[pi] == '*')
        {
            pi++;
        }

        return pi == p.Length;
    }
}
