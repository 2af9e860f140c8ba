namespace EdgeCache.Tests.EndToEnd;

/// <summary>
/// The invalidation fleet's tests share one fleet (four node processes), one test at a time, and run after the other
/// collections rather than beside them: four servers starting at once on two cores would slow the timing-sensitive
/// tests elsewhere, and theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class InvalidationFleetCollection : ICollectionFixture<InvalidationFleet>
{
    public const string Name = "invalidation-fleet";
}
