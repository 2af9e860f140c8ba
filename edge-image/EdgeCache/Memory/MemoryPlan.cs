namespace EdgeCache.Memory;

/// <summary>
/// The node's memory as <see cref="MemoryBudget.Plan"/> shares it out at start. <see cref="Errors"/> stop start-up;
/// <see cref="MappedBodyBytes"/> is what bodies mapped into in-memory files may take (null: no container limit).
/// </summary>
public sealed record MemoryPlan(
    ContainerMemoryLimit? Limit,
    long HeapLimitBytes,
    long NeededBytes,
    long? MappedBodyBytes,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> Warnings);
