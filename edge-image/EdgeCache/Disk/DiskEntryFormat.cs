using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;

namespace EdgeCache.Disk;

/// <summary>
/// One file per stored variant:
/// <c>"EDGECACHE1\n" | int32 metadata length | metadata JSON | SHA-256(metadata) | body</c>.
/// The header can be read and verified without reading the body, which is how start-up indexes the directory.
/// </summary>
public static class DiskEntryFormat
{
    public const int MaxMetadataBytes = 1024 * 1024;

    private static readonly byte[] Magic = "EDGECACHE1\n"u8.ToArray();
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static int HeaderLength(int metadataLength) => Magic.Length + 4 + metadataLength + SHA256.HashSizeInBytes;

    public static byte[] EncodeHeader(DiskEntryMetadata metadata)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(metadata, Json);
        var header = new byte[HeaderLength(json.Length)];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(Magic.Length), json.Length);
        json.CopyTo(header, Magic.Length + 4);
        SHA256.HashData(json, header.AsSpan(Magic.Length + 4 + json.Length));
        return header;
    }

    /// <summary>Reads and verifies the header; null (with the reason) when the file is not a whole, intact entry.</summary>
    public static async Task<(DiskEntryMetadata? Metadata, long BodyOffset, string? Problem)> ReadHeaderAsync(FileStream file, CancellationToken cancellationToken)
    {
        var prefix = new byte[Magic.Length + 4];
        if (await ReadFullyAsync(file, prefix, cancellationToken).ConfigureAwait(false) < prefix.Length || !prefix.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return (null, 0, "bad magic or truncated header");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(prefix.AsSpan(Magic.Length));
        if (length is <= 0 or > MaxMetadataBytes)
        {
            return (null, 0, "metadata length out of range");
        }

        var rest = new byte[length + SHA256.HashSizeInBytes];
        if (await ReadFullyAsync(file, rest, cancellationToken).ConfigureAwait(false) < rest.Length)
        {
            return (null, 0, "truncated metadata");
        }

        var json = rest.AsSpan(0, length);
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(json), rest.AsSpan(length)))
        {
            return (null, 0, "metadata checksum mismatch");
        }

        DiskEntryMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<DiskEntryMetadata>(json, Json);
        }
        catch (JsonException)
        {
            return (null, 0, "metadata not readable");
        }

        var bodyOffset = HeaderLength(length);
        if (metadata is null || file.Length != bodyOffset + metadata.BodyLength)
        {
            return (null, 0, "file length does not match the recorded body length");
        }

        return (metadata, bodyOffset, null);
    }

    private static async Task<int> ReadFullyAsync(FileStream file, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await file.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
