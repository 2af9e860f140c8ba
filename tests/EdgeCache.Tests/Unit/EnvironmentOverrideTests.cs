using EdgeCache.Configuration;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// EDGECACHE_* overrides are merged into the config document before it is checked: they meet the same schema and rules
/// as the file, and every error they cause names the variable.
/// </summary>
public sealed class EnvironmentOverrideTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"edgecache-overrides-{Guid.NewGuid():N}.json");

    public EnvironmentOverrideTests()
    {
        File.WriteAllText(_file, """
            {
              "cache": { "memoryBytes": 4194304, "maxObjectBytes": 1048576 },
              "origins": [ { "id": "o", "type": "http", "url": "http://x" } ],
              "behaviors": [ { "pathPattern": "*", "origin": "o", "allowedMethods": ["GET", "HEAD"] } ]
            }
            """);
    }

    [Fact]
    public void A_misspelt_override_is_an_error_naming_the_variable()
    {
        var error = Load(("EDGECACHE_Cache__MemoryByte", "1"));

        Assert.Contains(error.Errors, e => e.StartsWith("EDGECACHE_Cache__MemoryByte: is not a known field", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("EDGECACHE_Listen__ViewerPrt", "8080")]
    [InlineData("EDGECACHE_Origins__0__Timeout", "5")]
    [InlineData("EDGECACHE_Nodes__Name", "a")]
    public void Unknown_paths_at_any_level_name_the_variable(string variable, string value)
    {
        var error = Load((variable, value));

        Assert.Contains(error.Errors, e => e.StartsWith(variable + ": is not a known field", StringComparison.Ordinal));
    }

    [Fact]
    public void An_override_meets_the_schema_and_the_error_names_field_and_variable()
    {
        var error = Load(("EDGECACHE_Node__Name", "edgé"));

        var line = Assert.Single(error.Errors);
        Assert.StartsWith("node.name: ", line, StringComparison.Ordinal);
        Assert.Contains("EDGECACHE_Node__Name", line, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_of_the_wrong_type_names_the_variable_and_the_expected_type()
    {
        var error = Load(("EDGECACHE_Cache__MemoryBytes", "lots"), ("EDGECACHE_Listen__InlineIo", "yes"), ("EDGECACHE_Cache__HeuristicFraction", "a tenth"));

        Assert.Contains(error.Errors, e => e.StartsWith("EDGECACHE_Cache__MemoryBytes: 'lots' is not an integer", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("EDGECACHE_Listen__InlineIo: 'yes' is not true or false", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("EDGECACHE_Cache__HeuristicFraction: 'a tenth' is not a number", StringComparison.Ordinal));
    }

    [Fact]
    public void Paths_match_the_schema_whatever_their_case_and_values_take_its_types()
    {
        var options = EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?>
        {
            ["EDGECACHE_CACHE__MEMORYBYTES"] = "134217728",
            ["EDGECACHE_listen__inlineio"] = "False",
            ["EDGECACHE_Cache__HeuristicFraction"] = "0.25",
            ["EDGECACHE_Cache__Disk__Directory"] = "/var/cache/edge",
            ["EDGECACHE_Origins__0__HostHeader"] = "www.example.com",
            ["EDGECACHE_Behaviors__0__AllowedMethods__2"] = "POST",
        });

        Assert.Equal(134217728, options.Cache.MemoryBytes);
        Assert.False(options.Listen.InlineIo);
        Assert.Equal(0.25, options.Cache.HeuristicFraction);
        Assert.Equal("/var/cache/edge", options.Cache.Disk.Directory);
        Assert.Equal("www.example.com", options.Origins[0].HostHeader);
        Assert.Equal(["GET", "HEAD", "POST"], options.Behaviors[0].AllowedMethods);
    }

    [Fact]
    public void An_override_may_add_an_array_item_but_not_leave_a_gap()
    {
        var options = EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?>
        {
            ["EDGECACHE_Origins__1__Id"] = "second",
            ["EDGECACHE_Origins__1__Type"] = "http",
            ["EDGECACHE_Origins__1__Url"] = "http://second",
        });
        Assert.Equal("http://second", options.Origins[1].Url);

        var error = Load(("EDGECACHE_Origins__3__Url", "http://y"));
        Assert.Contains(error.Errors, e => e.StartsWith("EDGECACHE_Origins__3__Url: ", StringComparison.Ordinal) && e.Contains("origins has 1", StringComparison.Ordinal));
    }

    [Fact]
    public void A_new_item_missing_its_required_fields_names_the_variables_that_made_it()
    {
        var error = Load(("EDGECACHE_Origins__1__Url", "http://y"));

        // Each missing field is named, with the variable that made the item.
        Assert.Contains(error.Errors, e => e.StartsWith("origins[1].id: is required", StringComparison.Ordinal) && e.Contains("EDGECACHE_Origins__1__Url", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("origins[1].type: is required", StringComparison.Ordinal) && e.Contains("EDGECACHE_Origins__1__Url", StringComparison.Ordinal));
    }

    [Fact]
    public void An_object_or_an_array_cannot_be_set_as_a_whole()
    {
        var error = Load(("EDGECACHE_Cache__Disk", "/var/cache"), ("EDGECACHE_Origins__0", "http://x"));

        Assert.Contains(error.Errors, e => e.StartsWith("EDGECACHE_Cache__Disk: ", StringComparison.Ordinal) && e.Contains("cache.disk", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("EDGECACHE_Origins__0: ", StringComparison.Ordinal) && e.Contains("origins[0]", StringComparison.Ordinal));
    }

    [Fact]
    public void Semantic_errors_from_an_override_name_the_variable_too()
    {
        var error = Load(("EDGECACHE_Behaviors__0__Origin", "elsewhere"));

        var line = Assert.Single(error.Errors);
        Assert.StartsWith("behaviors[0].origin: 'elsewhere' is not a configured origin", line, StringComparison.Ordinal);
        Assert.Contains("EDGECACHE_Behaviors__0__Origin", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Variables_that_are_not_config_paths_are_left_alone()
    {
        // Kubernetes gives every pod EDGECACHE_SERVICE_HOST, EDGECACHE_PORT_443_TCP and the like for a Service named
        // edgecache; only names with '__' are paths.
        var options = EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?>
        {
            ["EDGECACHE_SERVICE_HOST"] = "10.0.0.1",
            ["EDGECACHE_PORT_443_TCP"] = "tcp://10.0.0.1:443",
            ["EDGECACHE_CONFIG"] = "/etc/edgecache/edgecache.json",
            ["OTHER__Cache__MemoryBytes"] = "1",
        });

        Assert.Equal(4194304, options.Cache.MemoryBytes);
    }

    public void Dispose() => File.Delete(_file);

    private ConfigurationException Load(params (string Name, string Value)[] variables) =>
        Assert.Throws<ConfigurationException>(() => EdgeCacheConfigLoader.Load(_file, variables.ToDictionary(v => v.Name, v => (string?)v.Value)));
}
