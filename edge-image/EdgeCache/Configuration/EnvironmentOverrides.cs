using System.Globalization;
using System.Text.Json.Nodes;

namespace EdgeCache.Configuration;

/// <summary>
/// <c>EDGECACHE_&lt;Path&gt;</c> variables, with <c>__</c> between levels (<c>EDGECACHE_Cache__MemoryBytes</c>,
/// <c>EDGECACHE_Origins__0__Url</c>), merged into the config document before it is checked, so that they meet the same
/// schema and rules as the file. A path is matched to the schema's fields in any case, and a value is converted to the
/// field's type; a path the schema does not have, or a value that is not of its type, is an error naming the variable.
/// </summary>
internal static class EnvironmentOverrides
{
    public const string Prefix = "EDGECACHE_";
    private const string Separator = "__";

    /// <summary>
    /// Writes every override into <paramref name="document"/> and returns the errors. <paramref name="sources"/> gets the
    /// field each variable set ("cache.memoryBytes" → "EDGECACHE_Cache__MemoryBytes"), so that later errors can name it.
    /// </summary>
    public static List<string> Apply(JsonObject document, ConfigSchema schema, IDictionary<string, string?> environment, Dictionary<string, string> sources)
    {
        var errors = new List<string>();
        var variables = environment
            .Where(e => IsOverride(e.Key))
            .Select(e => (Name: e.Key, Path: e.Key[Prefix.Length..].Split(Separator), Value: e.Value ?? ""))
            .Order(Comparer<(string Name, string[] Path, string Value)>.Create((a, b) => ComparePaths(a.Path, b.Path)))
            .ToList();
        foreach (var (name, path, value) in variables)
        {
            if (Set(document, schema, path, value, out var field) is { } error)
            {
                errors.Add($"{name}: {error}");
            }
            else
            {
                sources[field] = name;
            }
        }

        return errors;
    }

    /// <summary>
    /// A config path: the prefix and at least one <c>__</c>. Kubernetes gives every pod variables such as
    /// <c>EDGECACHE_SERVICE_HOST</c> and <c>EDGECACHE_PORT_443_TCP</c> for a Service named edgecache, and
    /// EDGECACHE_CONFIG and EDGECACHE_ADMIN_TOKEN are not fields of the document; none of them has a <c>__</c>.
    /// </summary>
    public static bool IsOverride(string variable) =>
        variable.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && variable.Contains(Separator, StringComparison.Ordinal);

    private static string? Set(JsonObject document, ConfigSchema schema, string[] path, string value, out string field)
    {
        field = "";
        JsonNode container = document;
        IReadOnlyList<JsonObject> schemas = schema.Root;
        for (var i = 0; i < path.Length; i++)
        {
            var segment = path[i];
            var last = i == path.Length - 1;
            if (segment.Length == 0)
            {
                return "is not a config path (levels are separated by one '__')";
            }

            IReadOnlyList<JsonObject> child;
            string at;
            Func<JsonNode?> get;
            Action<JsonNode> put;
            if (container is JsonArray array)
            {
                if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    return $"{ConfigValueText.Quote(segment)} is not an index into {Describe(field)}, which is a list";
                }

                if (index > array.Count)
                {
                    return $"{field} has {array.Count} item(s); an override may set one of them or add the next ({array.Count}), not [{index}]";
                }

                child = schema.Items(schemas);
                at = $"{field}[{index}]";
                get = () => index < array.Count ? array[index] : null;
                put = node =>
                {
                    if (index < array.Count)
                    {
                        array[index] = node;
                    }
                    else
                    {
                        array.Add(node);
                    }
                };
            }
            else
            {
                var obj = (JsonObject)container;
                var found = schema.Property(schemas, segment, out var spelling);
                at = field.Length == 0 ? (found is null ? segment : spelling) : $"{field}.{(found is null ? segment : spelling)}";
                if (found is null)
                {
                    return $"is not a known field ({at}; check the spelling against edgecache.schema.json)";
                }

                child = found;
                get = () => obj[spelling];
                put = node => obj[spelling] = node;
            }

            field = at;
            var type = ConfigSchema.TypeOf(child);
            if (last)
            {
                if (Convert(value, type, field, out var error) is not { } node)
                {
                    return error;
                }

                put(node);
                return null;
            }

            var next = get();
            if (next is null)
            {
                if (type is not ("object" or "array"))
                {
                    return $"{field} is a single value ({type}), so it has no fields below it";
                }

                next = type == "object" ? new JsonObject() : new JsonArray();
                put(next);
            }
            else if (next is not (JsonObject or JsonArray))
            {
                return $"{field} is a single value in the config file, so it has no fields below it";
            }

            container = next;
            schemas = child;
        }

        return null;
    }

    private static JsonNode? Convert(string value, string type, string field, out string error)
    {
        error = "";
        switch (type)
        {
            case "object":
                error = $"{field} is an object: set its fields one by one, with '__' between levels";
                return null;
            case "array":
                error = $"{field} is a list: set its items one by one by index, e.g. __0";
                return null;
            case "integer":
                if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                {
                    return JsonValue.Create(integer);
                }

                error = $"{ConfigValueText.Quote(value)} is not an integer ({field})";
                return null;
            case "number":
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
                {
                    return JsonValue.Create(number);
                }

                error = $"{ConfigValueText.Quote(value)} is not a number ({field})";
                return null;
            case "boolean":
                if (bool.TryParse(value, out var flag))
                {
                    return JsonValue.Create(flag);
                }

                error = $"{ConfigValueText.Quote(value)} is not true or false ({field})";
                return null;
            default:
                return JsonValue.Create(value);
        }
    }

    private static string Describe(string field) => field.Length == 0 ? "the document" : field;

    /// <summary>Level by level, indexes as numbers: the items of a list are added in order ([1] before [2] and [10]).</summary>
    private static int ComparePaths(string[] a, string[] b)
    {
        for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            var order = int.TryParse(a[i], out var x) && int.TryParse(b[i], out var y)
                ? x.CompareTo(y)
                : string.Compare(a[i], b[i], StringComparison.OrdinalIgnoreCase);
            if (order != 0)
            {
                return order;
            }
        }

        return a.Length.CompareTo(b.Length);
    }
}
