using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace EdgeCache.InvalidationLog;

/// <summary>
/// One invalidation: an immutable object <c>invalidations/&lt;id&gt;.json</c> in the control bucket, never rewritten.
/// </summary>
public sealed class InvalidationRecord
{
    /// <summary>A record larger than this is refused by writers and skipped by nodes.</summary>
    public const int MaxBytes = 1024 * 1024;

    private InvalidationRecord(string id, DateTimeOffset createdAt, string? requestedBy, InvalidationTarget target)
    {
        Id = id;
        CreatedAt = createdAt;
        RequestedBy = requestedBy;
        Target = target;
    }

    public string Id { get; }

    /// <summary>When it was made, by the writer's clock (the id may sort later: see <see cref="InvalidationId.Create"/>).</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>Who asked (the writer's own account of it; the bucket's access log has the signed identity).</summary>
    public string? RequestedBy { get; }

    public InvalidationTarget Target { get; }

    public static InvalidationRecord Create(string id, DateTimeOffset createdAt, string? requestedBy, InvalidationTarget target)
    {
        if (!InvalidationId.IsValid(id))
        {
            throw new ArgumentException($"'{id}' is not an invalidation id", nameof(id));
        }

        return new InvalidationRecord(id, createdAt.ToUniversalTime(), requestedBy, target);
    }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(
        new RecordDocument
        {
            Id = Id,
            CreatedAt = CreatedAt,
            RequestedBy = RequestedBy,
            Paths = Target.Paths is { } paths ? [.. paths] : null,
            Prefix = Target.Prefix,
            Pattern = Target.Pattern,
            All = Target.All ? true : null,
        },
        LogJsonContext.Default.RecordDocument);

    /// <summary>
    /// Reads a record strictly: not JSON, a field this version does not know, a missing or wrong-typed field, an id
    /// other than its object name, or not exactly one target is an <paramref name="error"/> (and nothing of it is used).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> json, string expectedId, [NotNullWhen(true)] out InvalidationRecord? record, [NotNullWhen(false)] out string? error)
    {
        record = null;
        if (json.Length > MaxBytes)
        {
            error = $"record is {json.Length} bytes, over the limit of {MaxBytes}";
            return false;
        }

        RecordDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(json, LogJsonContext.Default.RecordDocument);
        }
        catch (JsonException ex)
        {
            error = "not a valid record: " + ex.Message;
            return false;
        }

        if (document is null)
        {
            error = "not a valid record: a JSON object is required";
            return false;
        }

        if (document.Id != expectedId)
        {
            error = $"id: '{document.Id}' differs from the object's name '{expectedId}'";
            return false;
        }

        if (!InvalidationId.IsValid(document.Id))
        {
            error = $"id: '{document.Id}' is not an invalidation id";
            return false;
        }

        if (document.All == false)
        {
            error = "all: must be true when present";
            return false;
        }

        if (document.Paths is { Count: 0 })
        {
            error = "paths: must not be empty when present";
            return false;
        }

        if (!InvalidationTarget.TryCreate(document.Paths, document.Prefix, document.Pattern, document.All == true, out var target, out error))
        {
            return false;
        }

        record = new InvalidationRecord(document.Id, document.CreatedAt, document.RequestedBy, target);
        return true;
    }
}
