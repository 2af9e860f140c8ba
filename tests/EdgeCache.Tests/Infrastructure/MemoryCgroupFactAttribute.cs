namespace EdgeCache.Tests.Infrastructure;

/// <summary>A fact that runs a node under a memory limit: skipped, with the reason, where no memory cgroup can be made.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MemoryCgroupFactAttribute : FactAttribute
{
    public MemoryCgroupFactAttribute()
    {
        if (MemoryCgroup.Unavailable() is { } reason)
        {
            Skip = reason;
        }
    }
}
