namespace EdgeCache.Proxy;

/// <summary>
/// Which URI a Location or Content-Location of an unsafe method's response names, if it is on the request's own authority
/// (RFC 9111 4.4: only those may be invalidated, so an origin cannot make the node drop another site's keys).
/// </summary>
/// <remarks>
/// The viewer's Host is whatever Kestrel accepted, and that includes values <see cref="Uri"/> rejects (<c>a:99999</c>,
/// <c>a..b</c>, <c>xn--</c>). Such a Host never throws here: a relative reference is on the request's authority whatever
/// that is, so it is still resolved against the request path; an absolute one is never taken to match a Host that does not
/// parse.
/// </remarks>
public static class SameAuthorityLocation
{
    /// <summary>Stands in for a Host that does not parse, to resolve relative references; matches no absolute URI.</summary>
    private static readonly Uri Placeholder = new("http://edgecache.invalid/");

    public static bool TryResolve(string? host, string requestPath, string location, out Uri target)
    {
        target = Placeholder;
        var relative = !HasScheme(location) && !location.StartsWith("//", StringComparison.Ordinal);
        if (string.IsNullOrEmpty(host) || !Uri.TryCreate("http://" + host + requestPath, UriKind.Absolute, out var self))
        {
            if (!relative || !Uri.TryCreate(Placeholder, requestPath, out self))
            {
                return false;
            }
        }

        if (!Uri.TryCreate(self, location, out var resolved) || resolved.Scheme is not ("http" or "https"))
        {
            return false;
        }

        if (!relative && !string.Equals(resolved.Authority, self.Authority, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        target = resolved;
        return true;
    }

    /// <summary>RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" before any '/', '?' or '#'.</summary>
    private static bool HasScheme(string reference)
    {
        for (var i = 0; i < reference.Length; i++)
        {
            var c = reference[i];
            if (c == ':')
            {
                return i > 0;
            }

            if (!(char.IsAsciiLetter(c) || (i > 0 && (char.IsAsciiDigit(c) || c is '+' or '-' or '.'))))
            {
                return false;
            }
        }

        return false;
    }
}
