namespace EdgeCache.Origins;

/// <summary>
/// Refuses an origin response the node cannot relay or store faithfully, before anything of it is used: the fetch
/// then fails as a protocol error (502, nothing stored; an origin group fails over). Each check names what was wrong.
/// </summary>
public static class OriginResponseValidator
{
    /// <summary>Why <paramref name="response"/> to <paramref name="request"/> is unusable, or null when it is fine.</summary>
    public static string? Problem(OriginRequest request, HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status is < 100 or > 599)
        {
            return $"status {status} is not an HTTP status (100-599)";
        }

        if (status < 200)
        {
            // The client consumes 100 and 103 itself; a 101 means the origin switched protocols on a request that asked
            // for no upgrade, and what follows on that connection is not HTTP.
            return $"status {status} as a final response to a request that asked for no protocol switch";
        }

        if (status == 304 && !IsConditional(request))
        {
            return "304 Not Modified to a request that was not conditional";
        }

        if (status == 206 && !Has(request, "Range"))
        {
            return "206 Partial Content to a request without Range";
        }

        return FramingProblem(response);
    }

    /// <summary>
    /// RFC 9112 6.3: a response whose length the node cannot be sure of is an error, not a guess. Both framings at once
    /// may be smuggling (the proxy MAY treat it as an error; nginx does), a transfer coding other than chunked
    /// would be relayed still coded, and a Content-Length that is not one number leaves the client reading to the close.
    /// </summary>
    private static string? FramingProblem(HttpResponseMessage response)
    {
        var hasLength = response.Content.Headers.NonValidated.TryGetValues("Content-Length", out var lengths);
        if (response.Headers.NonValidated.TryGetValues("Transfer-Encoding", out var codings))
        {
            if (codings.Count != 1 || !codings.ToString().Trim().Equals("chunked", StringComparison.OrdinalIgnoreCase))
            {
                return $"Transfer-Encoding '{codings}' (the node reads chunked only)";
            }

            return hasLength ? $"both Transfer-Encoding: chunked and Content-Length: {lengths}" : null;
        }

        if (!hasLength)
        {
            return null;
        }

        // The client parses a single, plain decimal value; for several lines it takes the first.
        if (response.Content.Headers.ContentLength is not { } parsed)
        {
            return $"Content-Length '{lengths}' is not a number";
        }

        foreach (var value in lengths)
        {
            if (!long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var other) || other != parsed)
            {
                return $"conflicting Content-Length values ({string.Join(", ", lengths)})";
            }
        }

        return null;
    }

    private static bool IsConditional(OriginRequest request) =>
        request.IfNoneMatch is not null || request.IfModifiedSince is not null || Has(request, "If-None-Match") || Has(request, "If-Modified-Since");

    private static bool Has(OriginRequest request, string name)
    {
        foreach (var (key, _) in request.Headers)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
