using EdgeCache.Configuration;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.Unit;

/// <summary>Config validation: the schema for shape, the validator for meaning; every message names its field.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public void Every_sample_config_in_the_repo_validates()
    {
        var files = Directory.EnumerateFiles(Path.Combine(RepoRoot.Path, "edge-image", "EdgeCache"), "*.json", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.EndsWith("schema.json", StringComparison.Ordinal))
            .ToList();
        Assert.True(files.Count >= 3, "expected the default and the samples, found: " + string.Join(", ", files));
        foreach (var file in files)
        {
            Assert.Empty(EdgeCacheConfigLoader.ValidateAgainstSchema(File.ReadAllText(file)));
            var options = EdgeCacheConfigLoader.Load(file, new Dictionary<string, string?>());
            Assert.NotEmpty(options.Behaviors);
        }
    }

    [Theory]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"cache":{"memoryByte":5}}""", "cache.memoryByte")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o","ttl":5}]}""", "behaviors[0].ttl")]
    [InlineData("""{"origins":[{"id":"o","type":"ftp","url":"ftp://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""", "origins[0].type")]
    [InlineData("""{"origins":[{"id":"o","type":"http"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""", "origins[0]")]
    [InlineData("""{"origins":[{"id":"o","type":"s3","region":"us-east-1"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""", "origins[0]")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o","minTtlSeconds":"10"}]}""", "behaviors[0].minTtlSeconds")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"limits":{"viewerSendTimeoutSeconds":0}}""", "limits.viewerSendTimeoutSeconds")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"listen":{"inlineIo":"yes"}}""", "listen.inlineIo")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"listen":{"notSentLowWaterBytes":-1}}""", "listen.notSentLowWaterBytes")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"listen":{"proxyProtocol":"yes"}}""", "listen.proxyProtocol")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"listen":{"httpsRedirectPort":0}}""", "listen.httpsRedirectPort")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"listen":{"httpsRedirectPort":70000}}""", "listen.httpsRedirectPort")]
    [InlineData("""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"cache":{"maxVariantsPerUrl":0}}""", "cache.maxVariantsPerUrl")]
    public void The_schema_names_the_field_at_fault(string json, string field)
    {
        var errors = EdgeCacheConfigLoader.ValidateAgainstSchema(json);
        Assert.Contains(errors, e => e.StartsWith(field, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("sharedIo", "true")]
    [InlineData("ioThreads", "2")]
    public void A_removed_field_is_named_with_what_to_do_instead_of_being_called_unknown(string name, string value)
    {
        var errors = EdgeCacheConfigLoader.ValidateAgainstSchema(
            $$$"""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"listen":{"{{{name}}}":{{{value}}}}}""");

        var error = Assert.Single(errors);
        Assert.Equal($"listen.{name}: {value} is no longer a setting: the shared-epoll transport was removed", error[..error.IndexOf(" because", StringComparison.Ordinal)]);
        Assert.EndsWith("delete the field", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_schema_accepts_the_listen_and_readiness_fields_the_stack_renders()
    {
        var json = """{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}],"listen":{"viewerPort":8080,"adminPort":9090,"proxyProtocol":true,"httpsRedirectPort":8081},"readiness":{"requireOrigins":false}}""";
        Assert.Empty(EdgeCacheConfigLoader.ValidateAgainstSchema(json));
    }

    [Fact]
    public void The_validator_reports_every_semantic_problem_at_once()
    {
        var options = new EdgeCacheOptions
        {
            Listen = new ListenOptions { Address = "localhost", ViewerPort = 8080, AdminPort = 8080, HttpsRedirectPort = 8080 },
            Cache = new CacheOptions { MemoryBytes = 2 * 1024 * 1024, MaxObjectBytes = 4 * 1024 * 1024 },
            Origins =
            [
                new OriginOptions { Id = "a", Type = "http", Url = "http://a" },
                new OriginOptions { Id = "a", Type = "http", Url = "http://b" },
                new OriginOptions { Id = "g", Type = "group", Primary = "a", Secondary = "missing" },
            ],
            Behaviors =
            [
                new BehaviorOptions { PathPattern = "*", Origin = "a" },
                new BehaviorOptions { PathPattern = "/x/*", Origin = "nope", MinTtlSeconds = 50, DefaultTtlSeconds = 10, MaxTtlSeconds = 60 },
                new BehaviorOptions { PathPattern = "/y", Origin = "a", DefaultTtlSeconds = 100, MaxTtlSeconds = 10 },
            ],
            AdminToken = "short",
        };

        var errors = EdgeCacheOptionsValidator.Collect(options);

        string[] expected =
        [
            "listen.address", "listen.adminPort", "listen.httpsRedirectPort", "cache.maxObjectBytes", "origins[1].id", "origins[2].secondary",
            "behaviors[0].pathPattern", "behaviors[1].origin", "behaviors[1].minTtlSeconds", "behaviors[2].pathPattern", "behaviors[2].defaultTtlSeconds",
            "EDGECACHE_ADMIN_TOKEN",
        ];
        foreach (var field in expected)
        {
            Assert.Contains(errors, e => e.StartsWith(field + ":", StringComparison.Ordinal));
        }

        Assert.Equal(expected.Length, errors.Count);
    }

    [Fact]
    public void The_schema_holds_the_defaults_the_options_take()
    {
        // The Pulumi side's rules read the defaults from the schema (components/config/edgeRules.ts); the node takes them from its options.
        var schema = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(RepoRoot.Path, "edge-image", "EdgeCache", "edgecache.schema.json")))!;
        var listen = schema["properties"]!["listen"]!["properties"]!;
        var cache = schema["properties"]!["cache"]!["properties"]!;
        var behavior = schema["$defs"]!["behavior"]!["properties"]!;
        var defaults = new EdgeCacheOptions();
        var ttl = new BehaviorOptions();
        Assert.Equal(defaults.Listen.Address, listen["address"]!["default"]!.GetValue<string>());
        Assert.Equal(defaults.Listen.FastPath, listen["fastPath"]!["default"]!.GetValue<bool>());
        Assert.Equal(defaults.Listen.ViewerPort, listen["viewerPort"]!["default"]!.GetValue<int>());
        Assert.Equal(defaults.Listen.AdminPort, listen["adminPort"]!["default"]!.GetValue<int>());
        Assert.Equal(defaults.Cache.MemoryBytes, cache["memoryBytes"]!["default"]!.GetValue<long>());
        Assert.Equal(defaults.Cache.MaxObjectBytes, cache["maxObjectBytes"]!["default"]!.GetValue<long>());
        Assert.Equal(ttl.MinTtlSeconds, behavior["minTtlSeconds"]!["default"]!.GetValue<long>());
        Assert.Equal(ttl.DefaultTtlSeconds, behavior["defaultTtlSeconds"]!["default"]!.GetValue<long>());
        Assert.Equal(ttl.MaxTtlSeconds, behavior["maxTtlSeconds"]!["default"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("edgé")]
    [InlineData("edge\r\nX-Injected: 1")]
    [InlineData("edge\n")]
    [InlineData("edge node")]
    [InlineData("edge\u0001")]
    public void A_node_name_that_cannot_be_a_header_value_is_refused(string name)
    {
        var json = $$"""{"node":{"name":{{System.Text.Json.JsonSerializer.Serialize(name)}}},"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""";

        var error = Assert.Single(EdgeCacheConfigLoader.ValidateAgainstSchema(json));
        Assert.StartsWith("node.name: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Edge Cache-Control")]
    [InlineData("X-Cache-Control:")]
    [InlineData("cache-control")]
    [InlineData("CDN-Cache-Control")]
    public void A_targeted_cache_control_that_is_not_a_field_of_its_own_is_refused(string name)
    {
        var json = $$"""{"cache":{"targetedCacheControl":{{System.Text.Json.JsonSerializer.Serialize(name)}}},"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""";

        var errors = EdgeCacheConfigLoader.ValidateAgainstSchema(json);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.StartsWith("cache.targetedCacheControl: ", e, StringComparison.Ordinal));
    }

    [Fact]
    public void The_schema_knows_the_targeted_cache_control_options()
    {
        var json = """{"cache":{"targetedCacheControl":"Acme-Cache-Control"},"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o","stripCdnCacheControl":true}]}""";
        Assert.Empty(EdgeCacheConfigLoader.ValidateAgainstSchema(json));
    }

    [Theory]
    [InlineData("www.example.com\r\nX-Injected: 1")]
    [InlineData("www.example.com\n")]
    [InlineData("www example.com")]
    [InlineData("www.example.com\u007f")]
    [InlineData("www.exämple.com")]
    [InlineData("user@www.example.com")]
    [InlineData("www.example.com/path")]
    [InlineData("www.example.com:99999")]
    public void A_host_header_that_is_not_a_host_is_refused(string hostHeader)
    {
        var json = $$"""{"origins":[{"id":"o","type":"http","url":"http://x","hostHeader":{{System.Text.Json.JsonSerializer.Serialize(hostHeader)}}}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""";

        var error = Assert.Single(EdgeCacheConfigLoader.ValidateAgainstSchema(json));
        Assert.StartsWith("origins[0].hostHeader: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Theory]
    [InlineData("www.example.com")]
    [InlineData("www.example.com:8443")]
    [InlineData("origin-1.internal")]
    [InlineData("10.0.0.5:8080")]
    [InlineData("[2001:db8::1]:8080")]
    public void A_host_header_that_is_a_host_passes(string hostHeader)
    {
        var json = $$"""{"origins":[{"id":"o","type":"http","url":"http://x","hostHeader":{{System.Text.Json.JsonSerializer.Serialize(hostHeader)}}}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""";
        Assert.Empty(EdgeCacheConfigLoader.ValidateAgainstSchema(json));
    }

    [Fact]
    public void Environment_overrides_apply_and_are_validated_too()
    {
        var file = Path.Combine(Path.GetTempPath(), $"edgecache-env-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]}""");
        try
        {
            var options = EdgeCacheConfigLoader.Load(file, new Dictionary<string, string?>
            {
                ["EDGECACHE_Cache__MemoryBytes"] = "134217728",
                ["EDGECACHE_Listen__NotSentLowWaterBytes"] = "32768",
                ["EDGECACHE_Origins__0__Url"] = "http://origin.internal:8080",
                ["EDGECACHE_ADMIN_TOKEN"] = "a-long-enough-admin-token",
            });
            Assert.Equal(134217728, options.Cache.MemoryBytes);
            Assert.Equal(32768, options.Listen.NotSentLowWaterBytes);
            Assert.Equal("http://origin.internal:8080", options.Origins[0].Url);
            Assert.Equal("a-long-enough-admin-token", options.AdminToken);

            var bad = Assert.Throws<ConfigurationException>(() => EdgeCacheConfigLoader.Load(file, new Dictionary<string, string?>
            {
                ["EDGECACHE_Behaviors__0__Origin"] = "elsewhere",
                ["EDGECACHE_ADMIN_TOKEN"] = "short",
            }));
            Assert.Contains(bad.Errors, e => e.StartsWith("behaviors[0].origin", StringComparison.Ordinal));
            Assert.Contains(bad.Errors, e => e.StartsWith("EDGECACHE_ADMIN_TOKEN", StringComparison.Ordinal));

            // Out of the schema's range: refused by the schema, as the same value in the file is.
            var outOfRange = Assert.Throws<ConfigurationException>(() => EdgeCacheConfigLoader.Load(file, new Dictionary<string, string?>
            {
                ["EDGECACHE_Listen__NotSentLowWaterBytes"] = "-2",
            }));
            Assert.Contains(outOfRange.Errors, e => e.StartsWith("listen.notSentLowWaterBytes", StringComparison.Ordinal) && e.Contains("EDGECACHE_Listen__NotSentLowWaterBytes", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("/behaviors/1/minTtlSeconds", "behaviors[1].minTtlSeconds")]
    [InlineData("", "(root)")]
    [InlineData("/origins/0", "origins[0]")]
    public void Json_pointers_become_field_paths(string pointer, string path)
    {
        Assert.Equal(path, EdgeCacheConfigLoader.ToFieldPath(pointer));
    }

}
