namespace EdgeCache.Behaviors;

/// <summary>
/// The viewer path must name a resource beneath the origin and nothing else. Kestrel has already percent-decoded
/// the path (except %2F) and removed dot segments; this rejects whatever could still climb out or be
/// decoded again further along: dot segments, backslashes, control characters, encoded slashes, and '%' left over
/// from double encoding (%252e). Rejected requests get 400 with the reason.
/// </summary>
public static class RequestPathValidator
{
    public static bool TryValidate(string? path, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(path) || path[0] != '/')
        {
            problem = "request path must start with '/'";
            return false;
        }

        foreach (var c in path)
        {
            if (c < 0x20 || c == 0x7f)
            {
                problem = "request path contains a control character";
                return false;
            }

            if (c == '\\')
            {
                problem = "request path contains a backslash";
                return false;
            }

            if (c == '%')
            {
                problem = "request path contains an encoded '%' or '/' (double encoding is not accepted)";
                return false;
            }
        }

        var span = path.AsSpan();
        foreach (var range in span.Split('/'))
        {
            var segment = span[range];
            if (segment is "." or "..")
            {
                problem = "request path contains a '.' or '..' segment";
                return false;
            }
        }

        return true;
    }
}
