using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace EdgeCache.Configuration;

/// <summary>
/// edgecache.schema.json, read once: it checks a config document, and it tells what an environment override's path
/// names (which field, spelt how, of which type), so that overrides are merged into the document and checked with it.
/// </summary>
internal sealed class ConfigSchema
{
    // One instance for every evaluation: JsonSchema.Net 7 rebuilds its per-schema cache when it meets a new options
    // object, and evaluations running at once with different ones can report errors that are not there
    // (json-everything/json-everything#929).
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List };

    private static readonly Lazy<ConfigSchema> Shipped = new(() =>
        new ConfigSchema(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, EdgeCacheConfigLoader.SchemaFileName))));

    private readonly JsonSchema _schema;
    private readonly JsonObject _definitions;

    private ConfigSchema(string text)
    {
        _schema = JsonSchema.FromText(text);
        _definitions = JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>The schema next to the server binary.</summary>
    public static ConfigSchema Default => Shipped.Value;

    /// <summary>The subschemas describing the document's root.</summary>
    public IReadOnlyList<JsonObject> Root => Expand(_definitions);

    /// <summary>Every failing keyword as its field ("behaviors[1].minTtlSeconds") and message.</summary>
    public List<(string Field, string Message)> Check(JsonNode? document)
    {
        var result = _schema.Evaluate(document, Evaluation);
        var errors = new List<(string Field, string Message)>();
        if (result.IsValid)
        {
            return errors;
        }

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
                    : keyword == "pattern" ? PatternMessage(document, detail) ?? message : message;
                if (!errors.Contains((field, text)))
                {
                    errors.Add((field, text));
                }
            }
        }

        if (errors.Count == 0)
        {
            errors.Add(("(root)", "does not match edgecache.schema.json"));
        }

        return errors;
    }

    /// <summary>The value and the pattern it misses, instead of the library's "not a match for the indicated regular expression".</summary>
    private string? PatternMessage(JsonNode? document, EvaluationResults detail)
    {
        if (!detail.InstanceLocation.TryEvaluate(document, out var value) || value is not JsonValue text || !text.TryGetValue<string>(out var s))
        {
            return null;
        }

        // Followed from the root along the evaluation path: the results' SchemaLocation drops the part before a $ref.
        JsonNode? schema = _definitions;
        foreach (var segment in detail.EvaluationPath.ToString().Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            schema = segment == "$ref" ? Resolve(schema?["$ref"]) : Step(schema, segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
        }

        return schema?["pattern"] is JsonValue pattern && pattern.TryGetValue<string>(out var p)
            ? $"{ConfigValueText.Quote(s)} does not match {p}"
            : null;
    }

    /// <summary>
    /// The subschemas of the property of an object described by <paramref name="schemas"/> whose name is
    /// <paramref name="name"/> in any case, with the name as the schema spells it; null when no such property exists.
    /// An origin's fields are looked up across its types (http, s3, group): the check afterwards says whether the field
    /// belongs to that origin's type.
    /// </summary>
    public IReadOnlyList<JsonObject>? Property(IReadOnlyList<JsonObject> schemas, string name, out string spelling)
    {
        spelling = "";
        List<JsonObject>? found = null;
        foreach (var schema in schemas)
        {
            if (schema["properties"] is not JsonObject properties)
            {
                continue;
            }

            foreach (var (key, value) in properties)
            {
                if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    spelling = key;
                    found ??= [];
                    found.AddRange(Expand(value));
                }
            }
        }

        return found;
    }

    /// <summary>The subschemas of an array's items.</summary>
    public IReadOnlyList<JsonObject> Items(IReadOnlyList<JsonObject> schemas) =>
        schemas.SelectMany(s => s["items"] is { } items ? Expand(items) : []).ToList();

    /// <summary>"object", "array", "integer", "number", "boolean" or "string" (an enum or a constant of strings).</summary>
    public static string TypeOf(IReadOnlyList<JsonObject> schemas)
    {
        foreach (var schema in schemas)
        {
            if (schema["type"] is JsonValue type && type.TryGetValue<string>(out var name))
            {
                return name;
            }
        }

        foreach (var schema in schemas)
        {
            var example = schema["const"] ?? (schema["enum"] as JsonArray)?.FirstOrDefault();
            if (example is JsonValue value)
            {
                return value.GetValueKind() switch
                {
                    JsonValueKind.Number => "number",
                    JsonValueKind.True or JsonValueKind.False => "boolean",
                    _ => "string",
                };
            }

            if (schema.ContainsKey("properties"))
            {
                return "object";
            }

            if (schema.ContainsKey("items"))
            {
                return "array";
            }
        }

        return "string";
    }

    /// <summary>"/behaviors/1/minTtlSeconds" → "behaviors[1].minTtlSeconds".</summary>
    public static string ToFieldPath(string pointer)
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

    /// <summary>A subschema with its local <c>$ref</c> followed and its <c>allOf</c> branches and <c>then</c>s beside it.</summary>
    private List<JsonObject> Expand(JsonNode? node)
    {
        var result = new List<JsonObject>();
        Add(node, result, depth: 0);
        return result;
    }

    /// <summary>The subschema a local <c>$ref</c> ("#/$defs/origin") points to.</summary>
    private JsonNode? Resolve(JsonNode? reference)
    {
        if (reference is not JsonValue value || !value.TryGetValue<string>(out var pointer) || !pointer.StartsWith("#/", StringComparison.Ordinal))
        {
            return null;
        }

        JsonNode? target = _definitions;
        foreach (var segment in pointer[2..].Split('/'))
        {
            target = Step(target, segment);
        }

        return target;
    }

    private static JsonNode? Step(JsonNode? node, string segment) => node switch
    {
        JsonObject obj => obj.TryGetPropertyValue(segment, out var child) ? child : null,
        JsonArray array => int.TryParse(segment, out var i) && i >= 0 && i < array.Count ? array[i] : null,
        _ => null,
    };

    private void Add(JsonNode? node, List<JsonObject> result, int depth)
    {
        // A boolean schema ("id": true in a branch) says nothing about the field; the definition beside it does.
        if (node is not JsonObject schema || depth > 16)
        {
            return;
        }

        result.Add(schema);
        Add(Resolve(schema["$ref"]), result, depth + 1);

        if (schema["allOf"] is JsonArray all)
        {
            foreach (var branch in all)
            {
                Add(branch, result, depth + 1);
            }
        }

        Add(schema["then"], result, depth + 1);
    }
}
