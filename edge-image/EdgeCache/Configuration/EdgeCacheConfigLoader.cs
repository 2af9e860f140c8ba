using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace EdgeCache.Configuration;

/// <summary>
/// Reads the JSON config file, merges the EDGECACHE_* environment overrides into it (<see cref="EnvironmentOverrides"/>),
/// checks the result against edgecache.schema.json (so typos and unknown fields are caught, in the file and in the
/// overrides alike), binds <see cref="EdgeCacheOptions"/> from it and runs the semantic validator. Any failure throws
/// <see cref="ConfigurationException"/> listing every bad field, and the variable that set it, before anything starts.
/// </summary>
public static class EdgeCacheConfigLoader
{
    public const string EnvironmentPrefix = EnvironmentOverrides.Prefix;
    public const string SchemaFileName = "edgecache.schema.json";
    public const string DefaultConfigFileName = "edgecache.default.json";
    public const string AdminTokenVariable = "EDGECACHE_ADMIN_TOKEN";

    private static readonly JsonDocumentOptions Lenient = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static EdgeCacheOptions Load(string path, IDictionary<string, string?>? environment = null)
    {
        if (!File.Exists(path))
        {
            throw new ConfigurationException(path, [$"config file not found: {path}"]);
        }

        environment ??= ProcessEnvironment();
        JsonNode? document;
        try
        {
            document = JsonNode.Parse(File.ReadAllText(path), documentOptions: Lenient);
        }
        catch (JsonException ex)
        {
            throw new ConfigurationException(path, [$"not valid JSON: {ex.Message}"]);
        }

        var schema = ConfigSchema.Default;
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        var errors = document is JsonObject root ? EnvironmentOverrides.Apply(root, schema, environment, sources) : [];
        errors.AddRange(schema.Check(document).Select(e => Attribute($"{e.Field}: {e.Message}", sources)));
        if (errors.Count > 0)
        {
            throw new ConfigurationException(path, errors);
        }

        var json = new MemoryStream(Encoding.UTF8.GetBytes(document!.ToJsonString()));
        var configuration = new ConfigurationBuilder().AddJsonStream(json).Build();
        var options = new EdgeCacheOptions();
        try
        {
            configuration.Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key it could not convert, e.g. "Cache:MemoryBytes".
            throw new ConfigurationException(path, [ex.Message + (ex.InnerException is null ? "" : " " + ex.InnerException.Message)]);
        }

        var token = environment.TryGetValue(AdminTokenVariable, out var t) ? t : null;
        options.AdminToken = string.IsNullOrEmpty(token) ? null : token;

        var semantic = EdgeCacheOptionsValidator.Collect(options);
        if (semantic.Count > 0)
        {
            throw new ConfigurationException(path, semantic.Select(e => Attribute(e, sources)).ToList());
        }

        return options;
    }

    /// <summary>Schema errors as "field.path: message", one per failing keyword.</summary>
    public static List<string> ValidateAgainstSchema(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: Lenient);
        }
        catch (JsonException ex)
        {
            return [$"not valid JSON: {ex.Message}"];
        }

        return ConfigSchema.Default.Check(node).Select(e => $"{e.Field}: {e.Message}").ToList();
    }

    /// <summary>"/behaviors/1/minTtlSeconds" → "behaviors[1].minTtlSeconds".</summary>
    internal static string ToFieldPath(string pointer) => ConfigSchema.ToFieldPath(pointer);

    /// <summary>
    /// "field: message" with the variables that set the field, or a field below it, named at the end: the operator
    /// looks for the mistake in the environment, not in the file.
    /// </summary>
    private static string Attribute(string error, Dictionary<string, string> sources)
    {
        var colon = error.IndexOf(": ", StringComparison.Ordinal);
        if (colon <= 0 || sources.Count == 0)
        {
            return error;
        }

        var field = error[..colon];
        var variables = sources
            .Where(s => s.Key == field || s.Key.StartsWith(field + ".", StringComparison.Ordinal) || s.Key.StartsWith(field + "[", StringComparison.Ordinal))
            .Select(s => s.Value)
            .Order(StringComparer.Ordinal)
            .ToList();
        return variables.Count == 0 ? error : $"{error} (set by {string.Join(", ", variables)})";
    }

    private static Dictionary<string, string?> ProcessEnvironment()
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            environment[(string)e.Key] = (string?)e.Value;
        }

        return environment;
    }
}
