namespace EdgeCache.Purging;

/// <summary>
/// Body of <c>POST /purge</c> on the admin port. Exactly one of: <c>paths</c> (exact URL paths, every query/variant),
/// <c>prefix</c> (a path prefix), <c>pattern</c> (a CloudFront-style wildcard) or <c>all: true</c>.
/// </summary>
public sealed class PurgeRequest
{
    public List<string>? Paths { get; set; }

    public string? Prefix { get; set; }

    public string? Pattern { get; set; }

    public bool All { get; set; }
}
