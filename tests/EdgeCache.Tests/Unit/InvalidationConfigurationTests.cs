using EdgeCache.Configuration;

namespace EdgeCache.Tests.Unit;

public sealed class InvalidationConfigurationTests : IDisposable
{
    private const string Base = "\"origins\":[{\"id\":\"o\",\"type\":\"http\",\"url\":\"http://x\"}],\"behaviors\":[{\"pathPattern\":\"*\",\"origin\":\"o\"}]";
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"edgecache-invalidation-config-{Guid.NewGuid():N}.json");

    [Fact]
    public void Without_the_section_the_node_follows_no_log()
    {
        File.WriteAllText(_file, "{" + Base + "}");
        Assert.Null(EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?>()).Invalidation);
    }

    [Fact]
    public void The_section_binds_with_its_defaults()
    {
        File.WriteAllText(_file, """{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":"us-east-1"},""" + Base + "}");

        var invalidation = EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?> { ["EDGECACHE_Invalidation__HeartbeatSeconds"] = "10" }).Invalidation;

        Assert.NotNull(invalidation);
        Assert.Equal("edge-control", invalidation.Bucket);
        Assert.Equal("us-east-1", invalidation.Region);
        Assert.Equal(1, invalidation.PollSeconds);
        Assert.Equal(10, invalidation.StartTimeoutSeconds);
        Assert.Equal(10, invalidation.HeartbeatSeconds);
        Assert.Null(invalidation.ServiceUrl);
        Assert.Null(invalidation.NodeId);
    }

    [Theory]
    [InlineData("""{"node":{"region":"eu-west-1"},"invalidation":{"region":"us-east-1"},""", "invalidation.bucket: is required")]
    [InlineData("""{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":"us-east-1","pollSecond":5},""", "invalidation.pollSecond: is not a known field")]
    [InlineData("""{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":"us-east-1","pollSeconds":0},""", "invalidation.pollSeconds")]
    [InlineData("""{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":"us-east-1","nodeId":"a/b"},""", "invalidation.nodeId")]
    [InlineData("""{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":"us east 1"},""", "invalidation.region: 'us east 1' is not an AWS region")]
    public void The_schema_names_the_field_at_fault(string start, string expected)
    {
        File.WriteAllText(_file, start + Base + "}");
        var error = Assert.Throws<ConfigurationException>(() => EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?>()));
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("""{"invalidation":{"bucket":"edge-control","region":"us-east-1"},""", "node: must have a region with invalidation")]
    [InlineData("""{"node":{"region":"eu/west"},"invalidation":{"bucket":"edge-control","region":"us-east-1"},""", "node.region: 'eu/west'")]
    [InlineData("""{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"Edge_Control","region":"us-east-1"},""", "invalidation.bucket: 'Edge_Control' is not an S3 bucket name")]
    [InlineData("""{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":"us-east-1","serviceUrl":"localhost:9000"},""", "invalidation.serviceUrl")]
    [InlineData("""{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":"us-east-1","keyPrefix":"/log"},""", "invalidation.keyPrefix")]
    public void More_checks_name_the_field_at_fault(string start, string expected)
    {
        File.WriteAllText(_file, start + Base + "}");
        var error = Assert.Throws<ConfigurationException>(() => EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?>()));
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("us-east-1\r\nX-Injected: 1")]
    [InlineData("us-east-1\n")]
    [InlineData("us east 1")]
    public void A_region_that_cannot_be_signed_is_refused(string region)
    {
        // The control bucket's region is part of every request's signature, in the Authorization header.
        var quoted = System.Text.Json.JsonSerializer.Serialize(region);
        var json = $$"""{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":{{quoted}}},"origins":[{"id":"o","type":"s3","bucket":"site-bucket","region":{{quoted}}}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""";

        var errors = EdgeCacheConfigLoader.ValidateAgainstSchema(json);

        Assert.Contains(errors, e => e.StartsWith("invalidation.region: ", StringComparison.Ordinal) && !e.Contains('\n', StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("origins[0].region: ", StringComparison.Ordinal) && !e.Contains('\n', StringComparison.Ordinal));
    }

    [Fact]
    public void An_environment_override_is_validated_too()
    {
        File.WriteAllText(_file, """{"node":{"region":"eu-west-1"},"invalidation":{"bucket":"edge-control","region":"us-east-1"},""" + Base + "}");
        var error = Assert.Throws<ConfigurationException>(() => EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?> { ["EDGECACHE_Invalidation__PollSeconds"] = "0" }));
        Assert.Contains("invalidation.pollSeconds: 0", error.Message);
    }

    public void Dispose() => File.Delete(_file);
}
