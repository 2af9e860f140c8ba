using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Disk;

/// <summary>
/// One file per stored variant, metadata last so a body can stream into the file as it arrives:
/// <c>body | metadata JSON | SHA-256(metadata) | int32 metadata length | "EDGECACHE1\n"</c>.
/// The trailer is read and verified from the end of the file without touching the body, which is how start-up
/// indexes the directory; the file's length must equal body + trailer, so truncation anywhere is caught.
/// </summary>
public static class DiskEntryFormat
{
    public const int MaxMetadataBytes = 1024 * 1024;

    private static readonly byte[] Magic = "EDGECACHE1\n"u8.ToArray();
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static int FixedTrailer => SHA256.HashSizeInBytes + 4 + Magic.Length;

    public static byte[] EncodeTrailer(DiskEntryMetadata metadata)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(metadata, Json);
        var trailer = new byte[json.Length + FixedTrailer];
        json.CopyTo(trailer, 0);
        SHA256.HashData(json, trailer.AsSpan(json.Length));
        BinaryPrimitives.WriteInt32LittleEndian(trailer.AsSpan(json.Length + SHA256.HashSizeInBytes), json.Length);
        Magic.CopyTo(trailer, json.Length + SHA256.HashSizeInBytes + 4);
        return trailer;
    }

    /// <summary>Reads and verifies the trailer; null (with the reason) when the file is not a whole, intact entry.</summary>
    public static async Task<(DiskEntryMetadata? Metadata, string? Problem)> ReadTrailerAsync(SafeFileHandle file, CancellationToken cancellationToken)
    {
        var fileLength = RandomAccess.GetLength(file);
        if (fileLength < FixedTrailer)
        {
            return (null, "shorter than a trailer");
        }

        var fixedPart = new byte[FixedTrailer];
        if (await RandomAccess.ReadAsync(file, fixedPart, fileLength - FixedTrailer, cancellationToken).ConfigureAwait(false) < FixedTrailer
            || !fixedPart.AsSpan(SHA256.HashSizeInBytes + 4).SequenceEqual(Magic))
        {
            return (null, "bad magic (truncated or not an entry)");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(fixedPart.AsSpan(SHA256.HashSizeInBytes));
        if (length is <= 0 or > MaxMetadataBytes || length > fileLength - FixedTrailer)
        {
            return (null, "metadata length out of range");
        }

        var json = new byte[length];
        var metadataOffset = fileLength - FixedTrailer - length;
        if (await RandomAccess.ReadAsync(file, json, metadataOffset, cancellationToken).ConfigureAwait(false) < length)
        {
            return (null, "truncated metadata");
        }

        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(json), fixedPart.AsSpan(0, SHA256.HashSizeInBytes)))
        {
            return (null, "metadata checksum mismatch");
        }

        DiskEntryMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<DiskEntryMetadata>(json, Json);
        }
        catch (JsonException)
        {
            return (null, "metadata not readable");
        }

        if (metadata is null || metadata.BodyLength != metadataOffset)
        {
            return (null, "file length does not match the recorded body length");
        }

        return (metadata, null);
    }
}
