namespace EdgeCache.Configuration.Validation;

/// <summary>The purge API token comes from the environment, not the document, so the schema never sees it.</summary>
internal static class AdminTokenRule
{
    public const int MinLength = 16;

    public static void Check(List<string> errors, string? token)
    {
        if (token is { Length: < MinLength })
        {
            errors.Add($"{EdgeCacheConfigLoader.AdminTokenVariable}: the purge API token must be at least {MinLength} characters");
        }
    }
}
