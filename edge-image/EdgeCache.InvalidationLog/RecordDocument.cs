using System.Text.Json.Serialization;

namespace EdgeCache.InvalidationLog;

/// <summary>The JSON shape of an invalidation record (see <see cref="InvalidationRecord"/>).</summary>
public sealed class RecordDocument
{
    [JsonRequired]
    public string Id { get; set; } = "";

    [JsonRequired]
    public DateTimeOffset CreatedAt { get; set; }

    public string? RequestedBy { get; set; }

    public List<string>? Paths { get; set; }

    public string? Prefix { get; set; }

    public string? Pattern { get; set; }

    public bool? All { get; set; }
}
