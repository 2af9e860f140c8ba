using System.Text.Json.Serialization;

namespace EdgeCache.InvalidationLog;

/// <summary>
/// JSON for the head, heartbeats and acks: status, not instructions, so a field added by a newer node or writer is
/// ignored rather than hiding that node from an older edgecdn.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LogHead))]
[JsonSerializable(typeof(NodeHeartbeat))]
[JsonSerializable(typeof(NodeAck))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
