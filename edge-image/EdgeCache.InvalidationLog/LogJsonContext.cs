using System.Text.Json.Serialization;

namespace EdgeCache.InvalidationLog;

/// <summary>
/// JSON for invalidation records. Unknown fields are errors: a record from a newer writer with a field this node does
/// not understand must be skipped whole, never applied in part.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RecordDocument))]
internal sealed partial class LogJsonContext : JsonSerializerContext;
