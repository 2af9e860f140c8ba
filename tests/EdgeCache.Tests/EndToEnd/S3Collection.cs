namespace EdgeCache.Tests.EndToEnd;

/// <summary>S3 tests set process-wide AWS credential variables, so they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class S3Collection
{
    public const string Name = "s3";
}
