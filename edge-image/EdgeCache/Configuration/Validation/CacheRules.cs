namespace EdgeCache.Configuration.Validation;

/// <summary>cache: an object the memory tier stores must fit in it.</summary>
internal static class CacheRules
{
    public static void Check(List<string> errors, CacheOptions cache)
    {
        if (cache.MaxObjectBytes > cache.MemoryBytes)
        {
            errors.Add($"cache.maxObjectBytes: {cache.MaxObjectBytes} exceeds cache.memoryBytes ({cache.MemoryBytes})");
        }
    }
}
