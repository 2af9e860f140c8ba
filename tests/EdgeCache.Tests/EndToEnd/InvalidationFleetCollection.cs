namespace EdgeCache.Tests.EndToEnd;

/// <summary>The invalidation fleet's tests share one fleet (four node processes), one test at a time.</summary>
[CollectionDefinition(Name)]
public sealed class InvalidationFleetCollection : ICollectionFixture<InvalidationFleet>
{
    public const string Name = "invalidation-fleet";
}
