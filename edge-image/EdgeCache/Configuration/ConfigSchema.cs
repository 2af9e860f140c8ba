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

    /// <summary>
    /// Every failing keyword as its field ("behaviors[1].minTtlSeconds"), message, and the value it was found on (the
    /// field itself, or for a missing field the object that lacks it). The message is the failing
    /// subschema's title when it has one (after the value, for a string or number), otherwise one rendered from the
    /// keyword; components/config/edgeSchema.ts renders the Pulumi side's alike.
    /// </summary>
    public List<(string Field, string Message, string At)> Check(JsonNode? document)
    {
        var result = _schema.Evaluate(document, Evaluation);
        var errors = new List<(string Field, string Message, string At)>();
        if (result.IsValid)
        {
            return errors;
        }

        foreach (var detail in result.Details)
        {
            // A failing "if" only selects which "then" applies, and what a "not" or a "contains" tried inside is not at
            // fault (the library lists it): the "then"'s own errors, and "not" and "contains" themselves, say what is wrong.
            var evaluationPath = detail.EvaluationPath.ToString();
            if (Skipped(evaluationPath, "if") || Skipped(evaluationPath, "not") || Skipped(evaluationPath, "contains"))
            {
                continue;
            }

            var schema = SubschemaAt(evaluationPath);
            IReadOnlyDictionary<string, string> errorsHere = detail.Errors ?? new Dictionary<string, string>();

            // The library gives a failed "not" no message of its own; the subschema holding it failed with nothing else.
            if (!detail.IsValid && errorsHere.Count == 0 && schema?["not"] is not null)
            {
                errorsHere = new Dictionary<string, string> { ["not"] = "is not allowed" };
            }

            if (errorsHere.Count == 0)
            {
                continue;
            }

            var field = ToFieldPath(detail.InstanceLocation.ToString());
            var value = detail.InstanceLocation.TryEvaluate(document, out var v) ? v : null;
            foreach (var (keyword, message) in errorsHere)
            {
                foreach (var (at, text) in Render(field, keyword, message, schema, value))
                {
                    if (!errors.Contains((at, text, field)))
                    {
                        errors.Add((at, text, field));
                    }
                }
            }
        }

        if (errors.Count == 0)
        {
            errors.Add(("(root)", "does not match edgecache.schema.json", "(root)"));
        }

        return errors;
    }

    /// <summary>Whether the evaluation path passes through the keyword's subschema ("/if/...", ".../not").</summary>
    private static bool Skipped(string evaluationPath, string keyword) =>
        evaluationPath.Contains($"/{keyword}/", StringComparison.Ordinal) || evaluationPath.EndsWith($"/{keyword}", StringComparison.Ordinal);

    private static IEnumerable<(string Field, string Message)> Render(string field, string keyword, string fallback, JsonObject? schema, JsonNode? value)
    {
        if (keyword == "" || fallback.Contains("false schema", StringComparison.OrdinalIgnoreCase) || keyword == "additionalProperties")
        {
            yield return (field, "is not a known field (check the spelling against edgecache.schema.json)");
            yield break;
        }

        var title = Text(schema?["title"]);
        if (keyword == "required")
        {
            var present = value as JsonObject;
            foreach (var name in (schema?["required"] as JsonArray ?? []).Select(Text).OfType<string>())
            {
                if (present is null || !present.ContainsKey(name))
                {
                    yield return (field == "(root)" ? name : $"{field}.{name}", title ?? "is required");
                }
            }

            yield break;
        }

        var shown = Describe(value);
        if (title is not null)
        {
            yield return (field, value is JsonValue ? $"{shown} {title}" : title);
            yield break;
        }

        var argument = schema?[keyword];
        yield return (field, keyword switch
        {
            "type" => $"{shown} is not {TypeName(Text(argument))}",
            "enum" => $"{shown} is not one of {string.Join(", ", (argument as JsonArray ?? []).Select(Describe))}",
            "const" => $"{shown} must be {Describe(argument)}",
            "minimum" => $"{shown} is below the minimum of {argument}",
            "maximum" => $"{shown} is above the maximum of {argument}",
            "exclusiveMinimum" => $"{shown} must be greater than {argument}",
            "exclusiveMaximum" => $"{shown} must be less than {argument}",
            "minLength" => $"{shown} is shorter than {argument} characters",
            "maxLength" => $"{shown} is longer than {argument} characters",
            "pattern" => $"{shown} does not match {Text(argument)}",
            "minItems" => $"must have at least {argument} item(s)",
            "maxItems" => $"must have at most {argument} item(s)",
            "uniqueItems" => "has duplicate items",
            "contains" => argument?["const"] is { } item ? $"must include {Describe(item)}" : "has no item of the kind required",
            "not" => $"{shown} is not allowed",
            _ => fallback,
        });
    }

    /// <summary>A value as an error message shows it: a string quoted (one line), a number as it is, a list or object by its kind.</summary>
    private static string Describe(JsonNode? value) => value switch
    {
        null => "null",
        JsonArray => "a list",
        JsonObject => "an object",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => ConfigValueText.Quote(v.GetValue<string>()),
        _ => value.ToJsonString(),
    };

    private static string TypeName(string? type) => type switch
    {
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "object" => "an object",
        "array" => "a list",
        "string" => "a string",
        _ => type ?? "of the expected type",
    };

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The subschema an evaluation path leads to, followed from the root (the results' SchemaLocation drops the part before a $ref).</summary>
    private JsonObject? SubschemaAt(string evaluationPath)
    {
        JsonNode? schema = _definitions;
        foreach (var segment in evaluationPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            schema = segment == "$ref" ? Resolve(schema?["$ref"]) : Step(schema, segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal));
        }

        return schema as JsonObject;
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
