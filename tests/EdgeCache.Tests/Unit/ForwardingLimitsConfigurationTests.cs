using EdgeCache.Configuration;

namespace EdgeCache.Tests.Unit;

/// <summary>limits.minRequestBodyBytesPerSecond, limits.requestBodyGracePeriodSeconds and origins[].maxPassThroughConnections.</summary>
public sealed class ForwardingLimitsConfigurationTests
{
    [Fact]
    public void Unset_they_take_kestrels_defaults_and_a_separate_pool_of_128()
    {
        var file = Path.Combine(Path.GetTempPath(), $"edgecache-fwd-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""");
        try
        {
            var options = EdgeCacheConfigLoader.Load(file, new Dictionary<string, string?>());
            Assert.Equal(240, options.Limits.MinRequestBodyBytesPerSecond);
            Assert.Equal(5, options.Limits.RequestBodyGracePeriodSeconds);
            Assert.Equal(128, options.Origins[0].MaxPassThroughConnections);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("""{"limits":{"minRequestBodyBytesPerSecond":0,"requestBodyGracePeriodSeconds":2},"origins":[{"id":"o","type":"http","url":"http://x","maxPassThroughConnections":1}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""")]
    [InlineData("""{"limits":{"minRequestBodyBytesPerSecond":100000,"requestBodyGracePeriodSeconds":3600},"origins":[{"id":"o","type":"http","url":"http://x","maxPassThroughConnections":65536}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""")]
    public void The_schema_accepts_values_at_their_bounds(string json)
    {
        Assert.Empty(EdgeCacheConfigLoader.ValidateAgainstSchema(json));
    }

    [Theory]
    [InlineData("""{"limits":{"minRequestBodyBytesPerSecond":-1},"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""", "limits.minRequestBodyBytesPerSecond")]
    [InlineData("""{"limits":{"requestBodyGracePeriodSeconds":1},"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""", "limits.requestBodyGracePeriodSeconds")]
    [InlineData("""{"limits":{"requestBodyGracePeriodSeconds":3601},"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""", "limits.requestBodyGracePeriodSeconds")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x","maxPassThroughConnections":0}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""", "origins[0].maxPassThroughConnections")]
    [InlineData("""{"origins":[{"id":"o","type":"s3","bucket":"bucket","region":"us-east-1","maxPassThroughConnections":4}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""", "origins[0]")]
    public void The_schema_names_the_field_at_fault(string json, string field)
    {
        var errors = EdgeCacheConfigLoader.ValidateAgainstSchema(json);
        Assert.Contains(errors, e => e.StartsWith(field, StringComparison.Ordinal));
    }
}
