namespace EdgeCache.Configuration.Validation;

/// <summary>behaviors: the default last and only last, each naming a configured origin, TTLs in order.</summary>
internal static class BehaviorRules
{
    public static void Check(List<string> errors, List<BehaviorOptions> behaviors, HashSet<string> originIds)
    {
        for (var i = 0; i < behaviors.Count; i++)
        {
            var at = $"behaviors[{i}]";
            var behavior = behaviors[i];
            var isLast = i == behaviors.Count - 1;
            if (isLast && behavior.PathPattern != "*")
            {
                errors.Add($"{at}.pathPattern: the last behavior is the default and must be '*' (found {ConfigValueText.Quote(behavior.PathPattern)})");
            }
            else if (!isLast && behavior.PathPattern == "*")
            {
                errors.Add($"{at}.pathPattern: '*' matches every path, so the behaviors after it could never match; only the last behavior may be '*'");
            }

            // An empty one is the schema's to report (required, and an origin id's pattern).
            if (behavior.Origin.Length > 0 && !originIds.Contains(behavior.Origin))
            {
                errors.Add($"{at}.origin: {ConfigValueText.Quote(behavior.Origin)} is not a configured origin (known: {string.Join(", ", originIds.Order(StringComparer.Ordinal))})");
            }

            CheckTtls(errors, at, behavior);
        }
    }

    /// <summary>min &lt;= default &lt;= max, one error for the first pair out of order.</summary>
    private static void CheckTtls(List<string> errors, string at, BehaviorOptions b)
    {
        const string Expected = "expected min <= default <= max";
        if (b.MinTtlSeconds > b.MaxTtlSeconds)
        {
            errors.Add($"{at}.minTtlSeconds: {b.MinTtlSeconds} is greater than maxTtlSeconds ({b.MaxTtlSeconds}); {Expected}");
        }
        else if (b.MinTtlSeconds > b.DefaultTtlSeconds)
        {
            errors.Add($"{at}.minTtlSeconds: {b.MinTtlSeconds} is greater than defaultTtlSeconds ({b.DefaultTtlSeconds}); {Expected}");
        }
        else if (b.DefaultTtlSeconds > b.MaxTtlSeconds)
        {
            errors.Add($"{at}.defaultTtlSeconds: {b.DefaultTtlSeconds} is greater than maxTtlSeconds ({b.MaxTtlSeconds}); {Expected}");
        }
    }
}
