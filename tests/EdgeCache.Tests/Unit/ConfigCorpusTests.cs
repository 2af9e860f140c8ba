using System.Text.Json.Nodes;
using EdgeCache.Configuration;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// The shared corpus of node configs (tests/config-corpus, README there): the node refuses every invalid one with an
/// error naming the field the case names, and starts with the valid ones. tests/pulumi/configCorpus.test.ts holds the
/// Pulumi side to the same cases.
/// </summary>
public sealed class ConfigCorpusTests : IDisposable
{
    private static readonly string Corpus = Path.Combine(RepoRoot.Path, "tests", "config-corpus");
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"edgecache-corpus-{Guid.NewGuid():N}.json");

    public static TheoryData<string> Invalid() => Names("invalid");

    public static TheoryData<string> Valid() => Names("valid");

    [Fact]
    public void The_corpus_has_a_case_for_each_rule()
    {
        Assert.True(Invalid().Count >= 40, $"{Invalid().Count} invalid cases");
        Assert.NotEmpty(Valid());
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_config_is_refused_naming_the_field(string name)
    {
        var (config, field, message, count) = Case("invalid", name);
        File.WriteAllText(_file, config.ToJsonString());

        var error = Assert.Throws<ConfigurationException>(() => EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?>()));

        var line = error.Errors.FirstOrDefault(e => e.StartsWith(field + ": ", StringComparison.Ordinal));
        Assert.True(line is not null, $"expected an error for {field}, got:\n{string.Join("\n", error.Errors)}");
        if (message is not null)
        {
            Assert.Contains(message, line, StringComparison.Ordinal);
        }

        Assert.All(error.Errors, e => Assert.DoesNotContain('\n', e));
        if (count is { } expected)
        {
            Assert.True(error.Errors.Count == expected, $"expected {expected} error line(s), got:\n{string.Join("\n", error.Errors)}");
        }
    }

    [Theory]
    [MemberData(nameof(Valid))]
    public void A_valid_config_is_accepted(string name)
    {
        var (config, _, _, _) = Case("valid", name);
        File.WriteAllText(_file, config.ToJsonString());

        var options = EdgeCacheConfigLoader.Load(_file, new Dictionary<string, string?>());

        Assert.NotEmpty(options.Behaviors);
    }

    public void Dispose() => File.Delete(_file);

    private static TheoryData<string> Names(string kind)
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Corpus, kind), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file));
        }

        return data;
    }

    private static (JsonNode Config, string Field, string? Message, int? Errors) Case(string kind, string name)
    {
        var test = JsonNode.Parse(File.ReadAllText(Path.Combine(Corpus, kind, name + ".json")))!.AsObject();
        var config = MergePatch(JsonNode.Parse(File.ReadAllText(Path.Combine(Corpus, "base.json"))), test["patch"])!;
        return (config, test["field"]?.GetValue<string>() ?? "", test["message"]?.GetValue<string>(), test["errors"]?.GetValue<int>());
    }

    /// <summary>RFC 7386: objects merge field by field, null removes a field, anything else replaces.</summary>
    private static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject changes)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject o ? o.DeepClone().AsObject() : [];
        foreach (var (key, value) in changes)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }
}
