using System.Text.Json;

namespace EdgeCache.Invalidation;

/// <summary>
/// Keeps <see cref="FollowerState"/> beside the disk tier's entries, written whole to a temporary file, flushed and
/// renamed over the old one, so a node killed mid-write finds the previous state or the new one, never a mix. Without
/// a disk tier nothing cached survives a restart, and neither does this state.
/// </summary>
public sealed class FollowerStateStore(string? directory)
{
    public const string FileName = "invalidation-state.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string? Path { get; } = directory is null ? null : System.IO.Path.Combine(directory, FileName);

    /// <summary>The saved state; null when there is none, or (with a <paramref name="problem"/>) when it is unreadable.</summary>
    public async Task<(FollowerState? State, string? Problem)> LoadAsync(CancellationToken cancellationToken)
    {
        if (Path is null || !File.Exists(Path))
        {
            return (null, null);
        }

        try
        {
            await using var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous);
            var document = await JsonSerializer.DeserializeAsync<FollowerStateDocument>(file, Json, cancellationToken).ConfigureAwait(false);
            if (document is null)
            {
                return (null, "empty");
            }

            var state = FollowerState.FromDocument(document, out var problem);
            return (state, problem);
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return (null, ex.Message);
        }
    }

    public async Task SaveAsync(FollowerState state, CancellationToken cancellationToken)
    {
        if (Path is null)
        {
            return;
        }

        var bytes = JsonSerializer.SerializeToUtf8Bytes(state.ToDocument(), Json);
        var temp = $"{Path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                await file.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, Path, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
                // The disk tier deletes stray *.tmp files when it next starts.
            }

            throw;
        }
    }
}
