using System.Buffers;
using System.Security.Cryptography;
using EdgeCache.Caching;
using EdgeCache.Observability;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Disk;

/// <summary>
/// Loads an entry to serve, verified. Every entry's metadata carries a SHA-256, checked with the trailer on every read;
/// the body's SHA-256 is checked before a disk entry is served, so a corrupt or truncated entry is dropped and refetched:
/// <list type="bullet">
/// <item>an entry small enough for memory is read whole and checked before it is served;</item>
/// <item>a large (file-backed) entry is streamed from its file, and is checked before it is first served by this process
/// (so damage found then is a plain refetch), then on every read of its whole body as it streams
/// (<see cref="FileBodyCheck"/>: a mismatch cuts the transfer off before its last block and drops the entry);</item>
/// <item>a range of a large entry cannot be checked as it streams, so it is served only while the entry's whole body was
/// verified within <see cref="DiskCacheStore.RangeReadRecheckInterval"/>; past that, the body is verified again before
/// the range is served. Damage that lands between two checks can reach a range request for up to that long: the price
/// of not hashing a whole large file for every range.</item>
/// </list>
/// </summary>
internal sealed partial class DiskEntryReader(DiskIndex index, TrailerGates gates, DiskTierStatus status, long memoryObjectMax, TimeProvider time, EdgeCacheMetrics metrics, DiskHooks hooks, ILogger logger)
{
    /// <summary>Reads the variant this request selects, verifying both checksums; null on a miss or a bad entry (which is deleted).</summary>
    public async Task<CacheEntry?> LoadAsync(CacheKey key, IHeaderDictionary requestHeaders, CancellationToken cancellationToken)
    {
        if (!index.TryGet(key.Primary, out var variants))
        {
            return null;
        }

        var secondary = CacheKeyBuilder.SecondaryKey(variants.VaryNames, requestHeaders);
        if (!variants.Records.TryGetValue(secondary, out var record))
        {
            return null;
        }

        SafeFileHandle? handle = null;
        try
        {
            DiskEntryMetadata? metadata;
            string? problem;
            var gate = gates.For(record.Path);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                handle = File.OpenHandle(record.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
                hooks.BodyFileOpened?.Invoke(handle);
                (metadata, problem) = await DiskEntryFormat.ReadTrailerAsync(handle, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }

            if (metadata is null || metadata.PrimaryKey != key.Primary)
            {
                handle.Dispose();
                Drop(record, problem ?? "key mismatch");
                return null;
            }

            if (metadata.BodyLength > memoryObjectMax)
            {
                // Large: served straight from the file, never read whole into memory. Its length and metadata are
                // verified on every read, its body as the type's summary says (an entry this process wrote was
                // hashed as it was written).
                var now = time.GetUtcNow();
                if (!record.VerifiedFor(now, ranged: requestHeaders.Range.Count > 0))
                {
                    if (!await BodyMatchesAsync(handle, metadata, cancellationToken).ConfigureAwait(false))
                    {
                        handle.Dispose();
                        Drop(record, "body checksum mismatch");
                        return null;
                    }

                    record.Verified(now);
                }

                var check = new FileBodyCheck(
                    metadata.BodySha256,
                    verified: () => record.Verified(time.GetUtcNow()),
                    mismatch: () => Drop(record, "body checksum mismatch while serving"));
                return metadata.ToEntry(CachedBody.FromFile(handle, metadata.BodyLength, check));
            }

            var body = new byte[metadata.BodyLength];
            var read = await RandomAccess.ReadAsync(handle, body, 0, cancellationToken).ConfigureAwait(false);
            handle.Dispose();
            if (read != body.Length || !Convert.ToHexString(SHA256.HashData(body)).Equals(metadata.BodySha256, StringComparison.Ordinal))
            {
                Drop(record, "body checksum mismatch");
                return null;
            }

            return metadata.ToEntry(CachedBody.FromBytes(body));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            handle?.Dispose();
            Drop(record, ex.Message);
            return null;
        }
        catch
        {
            // Cancelled (the viewer left while the entry was read or checked): the file opened for it is closed now.
            handle?.Dispose();
            throw;
        }
    }

    private static async Task<bool> BodyMatchesAsync(SafeFileHandle handle, DiskEntryMetadata metadata, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(256 * 1024);
        try
        {
            for (long position = 0; position < metadata.BodyLength;)
            {
                var want = (int)Math.Min(buffer.Length, metadata.BodyLength - position);
                var read = await RandomAccess.ReadAsync(handle, buffer.AsMemory(0, want), position, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return false;
                }

                hash.AppendData(buffer, 0, read);
                position += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return Convert.ToHexString(hash.GetHashAndReset()).Equals(metadata.BodySha256, StringComparison.Ordinal);
    }

    private void Drop(DiskRecord record, string problem)
    {
        metrics.DiskCorruptEntries.Inc();
        LogDropped(logger, record.Path, problem);
        index.Drop(record);
        status.Publish();
    }

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Disk entry {Path} dropped: {Problem}; it will be refetched")]
    private static partial void LogDropped(ILogger logger, string path, string problem);
}
