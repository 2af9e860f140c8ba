using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace EdgeCache.Configuration;

/// <summary>
/// Reads the JSON config file, merges the EDGECACHE_* environment overrides into it (<see cref="EnvironmentOverrides"/>,
/// <see cref="FastPathSwitch"/>), checks the result against edgecache.schema.json (so typos and unknown fields are
/// caught, in the file and in the overrides alike), binds <see cref="EdgeCacheOptions"/> from it and runs the rules the
/// schema cannot express (<see cref="EdgeCacheOptionsValidator"/>). Any failure throws
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
        if (document is JsonObject top)
        {
            ApplyFastPathSwitch(top, environment, sources, errors);
        }

        errors.AddRange(schema.Check(document).Select(e => Attribute($"{e.Field}: {e.Message}", sources, e.At)));
        if (document is not JsonObject)
        {
            throw new ConfigurationException(path, errors);
        }

        // The rules the schema cannot express run on a document it refused too, when it still binds, so that one run
        // names every bad field.
        var options = new EdgeCacheOptions();
        try
        {
            var json = new MemoryStream(Encoding.UTF8.GetBytes(document.ToJsonString()));
            new ConfigurationBuilder().AddJsonStream(json).Build().Bind(options);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            // The binder names the key it could not convert, e.g. "Cache:MemoryBytes"; the schema has said why.
            throw new ConfigurationException(path, errors.Count > 0 ? errors : [ex.Message + (ex.InnerException is null ? "" : " " + ex.InnerException.Message)]);
        }

        var token = environment.TryGetValue(AdminTokenVariable, out var t) ? t : null;
        options.AdminToken = string.IsNullOrEmpty(token) ? null : token;

        errors.AddRange(EdgeCacheOptionsValidator.Collect(options).Select(e => Attribute(e, sources)));
        if (errors.Count > 0)
        {
            throw new ConfigurationException(path, errors);
        }

        return options;
    }

    /// <summary><see cref="FastPathSwitch.Variable"/> sets listen.fastPath, as an override would, and meets the schema with it.</summary>
    private static void ApplyFastPathSwitch(JsonObject document, IDictionary<string, string?> environment, Dictionary<string, string> sources, List<string> errors)
    {
        if (!environment.TryGetValue(FastPathSwitch.Variable, out var value))
        {
            return;
        }

        if (!FastPathSwitch.TryParse(value, out var enabled))
        {
            errors.Add(FastPathSwitch.Error(value!));
        }
        else if (enabled is { } on && (document["listen"] ??= new JsonObject()) is JsonObject listen)
        {
            listen["fastPath"] = on;
            sources["listen.fastPath"] = FastPathSwitch.Variable;
        }
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
    private static string Attribute(string error, Dictionary<string, string> sources, string? at = null)
    {
        var colon = error.IndexOf(": ", StringComparison.Ordinal);
        if (colon <= 0 || sources.Count == 0)
        {
            return error;
        }

        var field = at ?? error[..colon];
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
