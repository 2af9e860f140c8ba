using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Microsoft.Extensions.Configuration;

namespace EdgeCache.Configuration;

/// <summary>
/// Reads the JSON config file, checks it against edgecache.schema.json (so typos and unknown fields are caught),
/// applies EDGECACHE_* environment overrides, binds <see cref="EdgeCacheOptions"/> and runs the semantic validator.
/// Any failure throws <see cref="ConfigurationException"/> listing every bad field, before anything starts.
/// </summary>
public static class EdgeCacheConfigLoader
{
    public const string EnvironmentPrefix = "EDGECACHE_";
    public const string SchemaFileName = "edgecache.schema.json";
    public const string DefaultConfigFileName = "edgecache.default.json";
    public const string AdminTokenVariable = "EDGECACHE_ADMIN_TOKEN";

    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, SchemaFileName))));

    public static EdgeCacheOptions Load(string path, IDictionary<string, string?>? environment = null)
    {
        if (!File.Exists(path))
        {
            throw new ConfigurationException(path, [$"config file not found: {path}"]);
        }

        var errors = ValidateAgainstSchema(File.ReadAllText(path));
        if (errors.Count > 0)
        {
            throw new ConfigurationException(path, errors);
        }

        var builder = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(path), optional: false, reloadOnChange: false);
        builder.AddInMemoryCollection(EnvironmentOverrides(environment));
        var configuration = builder.Build();

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

        var token = environment is not null
            ? (environment.TryGetValue(AdminTokenVariable, out var t) ? t : null)
            : Environment.GetEnvironmentVariable(AdminTokenVariable);
        options.AdminToken = string.IsNullOrEmpty(token) ? null : token;

        var semantic = EdgeCacheOptionsValidator.Collect(options);
        if (semantic.Count > 0)
        {
            throw new ConfigurationException(path, semantic);
        }

        return options;
    }

    /// <summary>Schema errors as "field.path: message", one per failing keyword.</summary>
    public static List<string> ValidateAgainstSchema(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            return [$"not valid JSON: {ex.Message}"];
        }

        var result = Schema.Value.Evaluate(node, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid)
        {
            return [];
        }

        var errors = new List<string>();
        foreach (var detail in result.Details)
        {
            // A failing "if" only selects which "then" applies; it is not an error in the document.
            if (detail.Errors is null || detail.EvaluationPath.ToString().Contains("/if", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var (keyword, message) in detail.Errors)
            {
                var field = ToFieldPath(detail.InstanceLocation.ToString());
                var text = keyword == "" || message.Contains("false schema", StringComparison.OrdinalIgnoreCase)
                    ? "is not a known field (check the spelling against edgecache.schema.json)"
                    : message;
                var line = $"{field}: {text}";
                if (!errors.Contains(line))
                {
                    errors.Add(line);
                }
            }
        }

        if (errors.Count == 0)
        {
            errors.Add("(root): does not match edgecache.schema.json");
        }

        return errors;
    }

    /// <summary>"/behaviors/1/minTtlSeconds" → "behaviors[1].minTtlSeconds".</summary>
    internal static string ToFieldPath(string pointer)
    {
        if (pointer is "" or "/")
        {
            return "(root)";
        }

        var sb = new StringBuilder();
        foreach (var raw in pointer.TrimStart('/').Split('/'))
        {
            var segment = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (int.TryParse(segment, out _))
            {
                sb.Append('[').Append(segment).Append(']');
            }
            else
            {
                if (sb.Length > 0)
                {
                    sb.Append('.');
                }

                sb.Append(segment);
            }
        }

        return sb.ToString();
    }

    private static Dictionary<string, string?> EnvironmentOverrides(IDictionary<string, string?>? environment)
    {
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (environment is null)
        {
            environment = new Dictionary<string, string?>();
            foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
            {
                environment[(string)e.Key] = (string?)e.Value;
            }
        }

        foreach (var (key, value) in environment)
        {
            // EDGECACHE_CONFIG names the file and EDGECACHE_ADMIN_TOKEN is a secret for the admin API: neither is a config path.
            if (key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) && key.Contains("__", StringComparison.Ordinal))
            {
                result[key[EnvironmentPrefix.Length..].Replace("__", ":", StringComparison.Ordinal)] = value;
            }
        }

        return result;
    }
}
