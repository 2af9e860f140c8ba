using System.Buffers;
using System.Diagnostics;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Disk;
using EdgeCache.Observability;
using EdgeCache.Origins;
using EdgeCache.Purging;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Fetching;

/// <summary>
/// Moves a fetched origin body into its entry's <see cref="CachedBody"/>, which every viewer of the fetch reads as it
/// fills: compressing it when the entry is stored compressed, moving it to a file when it outgrows memory, and storing
/// the entry (memory, then disk) once it arrived whole.
/// </summary>
internal sealed partial class BodyPump(
    MemoryCacheStore store,
    DiskCacheStore disk,
    PurgeLog purges,
    EdgeCacheMetrics metrics,
    CacheOptions cacheOptions,
    TimeProvider time,
    ILogger logger,
    Action<InFlightFetch> finished,
    CancellationToken shutdown)
{
    /// <summary>
    /// Reads the origin body into the entry, then stores it if it arrived whole. A body that will be stored is read at
    /// the origin's pace, even if its only viewer stalls or leaves: the cache needs it whole, and the stalled viewer is
    /// cut off by its own send timeout. One that will not be stored is read only
    /// <see cref="FetchCoordinator.PassThroughReadAheadBytes"/> ahead of its fastest viewer, and given up when no viewer is left.
    /// </summary>
    public async Task PumpAsync(InFlightFetch fetch, OriginResponse response, CacheEntry entry, string? encoding, bool storable, LargeWrite? large, FetchOutcome.Shared outcome)
    {
        var body = entry.Body;
        // The pump's own reference (CachedBody's remarks): taken while the fetch still holds the one the body was created with.
        var held = body.TryAddReference();
        Debug.Assert(held, "a new body was sealed before its pump started");
        var origin = fetch.Request.Origin;
        byte[]? scratch = null;
        Stream? compressor = null;
        try
        {
            if (encoding is "br" or "gzip")
            {
                compressor = ResponseCompression.OpenCompressor(new CachedBodyWriteStream(body), encoding);
                scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
            }

            using var reader = new OriginBodyReader(response.Body, response.ContentLength, origin, time, shutdown);
            var tooLarge = false;
            // With a Content-Length the loop ends at the last byte: one more read would first take a fresh segment
            // (GetWriteMemory) only to learn the body has ended. Without one, it reads until the origin's end.
            while (compressor is not null || reader.MayHaveMore)
            {
                var read = await reader.ReadAsync(compressor is null ? body.GetWriteMemory() : scratch.AsMemory()).ConfigureAwait(false);
                if (body.IsFileBacked)
                {
                    // The read may have completed inline on a socket I/O thread (listen.inlineIo); the file write (and the
                    // fsync after the last read) block, so they run on the thread pool instead.
                    await Task.Yield();
                }

                if (read == 0)
                {
                    break;
                }

                if (compressor is null)
                {
                    body.Advance(read);
                }
                else
                {
                    await compressor.WriteAsync(scratch.AsMemory(0, read), shutdown).ConfigureAwait(false);
                    // Flush so waiters get compressed bytes as the origin's arrive, not at the end.
                    await compressor.FlushAsync(shutdown).ConfigureAwait(false);
                }

                if (!body.IsFileBacked && body.Length > cacheOptions.MaxObjectBytes)
                {
                    // A response of unknown length (chunked, or compressed here) outgrew the memory tier's object limit.
                    // Stored only if it goes to the disk tier as a large entry; otherwise it keeps streaming to the viewers
                    // already reading, from a file if one could be opened. Tried once: tooLarge is then set or not.
                    if (!tooLarge)
                    {
                        await Task.Yield();
                        large = SpillToFile(fetch, entry, storable);
                        tooLarge = large is null;
                    }

                    if (!body.IsFileBacked && body.Length > cacheOptions.MemoryBytes)
                    {
                        throw new IncompleteBodyException($"response of unknown length grew past the memory tier ({cacheOptions.MemoryBytes} bytes) and no file could take it");
                    }
                }

                if (!storable || tooLarge)
                {
                    reader.PauseTimeout();
                    if (!await body.WaitForReadersAsync(FetchCoordinator.PassThroughReadAheadBytes, shutdown).ConfigureAwait(false))
                    {
                        // Not stored, and no viewer holds it any more: nobody will read another byte of it.
                        body.Fail(new IncompleteBodyException("no viewer is reading this response any more and it is not stored"));
                        LogBodyAbandoned(logger, origin.Id, fetch.Request.Path, reader.Received);
                        return;
                    }
                }
            }

            reader.EnsureComplete();
            if (compressor is not null)
            {
                await compressor.DisposeAsync().ConfigureAwait(false);
                compressor = null;
            }

            body.TrimExcess();
            await StoreAsync(fetch, entry, storable && !tooLarge, large, outcome).ConfigureAwait(false);
            large = null;
        }
        catch (BodyStoreException ex)
        {
            // The disk failed, not the origin: the tier degrades (log, metric) and later large responses pass through.
            // A spill file in $TMPDIR on a node without a disk tier has no tier to degrade: it is logged. Either way the
            // viewers already reading this body are cut off rather than given a short one as complete. The body fails
            // first, so that no viewer joins it once the failure shows (InFlightFetch.TryJoin).
            body.Fail(ex);
            if (large is null && !disk.Enabled)
            {
                LogSpillWriteFailed(logger, origin.Id, fetch.Request.Path, ex.Message);
            }
            else
            {
                disk.FailLarge(large, ex);
            }
        }
        catch (Exception ex)
        {
            body.Fail(ex);
            if (large is not null)
            {
                DiskCacheStore.AbandonLarge(large);
            }

            metrics.OriginErrors.WithLabels(origin.Id, "body").Inc();
            LogBodyFailed(logger, origin.Id, fetch.Request.Path, body.Length, ex.Message);
        }
        finally
        {
            if (compressor is not null)
            {
                try
                {
                    await compressor.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // The body already failed; the compressor's trailer has nowhere useful to go.
                }
            }

            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            response.Dispose();
            finished(fetch);
            body.ReleaseReference();
        }
    }

    /// <summary>
    /// The body arrived whole: the entry is stored (unless a purge since the fetch began covers it), and only then
    /// completed, so a viewer that has read the whole body and asks again at once finds the entry.
    /// </summary>
    private async Task StoreAsync(InFlightFetch fetch, CacheEntry entry, bool storable, LargeWrite? large, FetchOutcome.Shared outcome)
    {
        var stored = storable && !purges.PurgedSince(fetch.Generation, fetch.Request.Path);
        var toDisk = entry;
        if (large is not null)
        {
            // Large objects live on the disk tier only; commit (trailer, fsync, rename) before waking readers.
            await disk.CommitLargeAsync(large, entry).ConfigureAwait(false);
            stored = false;
        }
        else if (stored)
        {
            // A piece joins the one stored for its variant when they are of one representation (RFC 9111 3.4); the
            // fetch's own viewers go on reading the piece they were given.
            var kept = entry.StatusCode == StatusCodes.Status206PartialContent
                ? PartialPieces.Combine(store.Get(fetch.Request.Key.Primary)?.FindVariant(entry.SecondaryKey)?.Entry, entry, cacheOptions.MaxObjectBytes)
                : entry;

            // Checked again under the store's lock: a purge that lands from here on must not find the entry back.
            stored = store.Store(fetch.Request.Key, kept, purges, fetch.Generation);
            toDisk = kept;
        }

        if (stored)
        {
            // Before Complete: a viewer that sees the body complete also sees whether it was stored (Cache-Status).
            outcome.MarkStored();
        }

        finished(fetch);
        entry.Body.Complete();
        if (stored && toDisk.StatusCode != StatusCodes.Status206PartialContent)
        {
            // The disk tier keeps whole objects: a piece lives in memory only, until pieces make the whole (docs/caching.md).
            disk.EnqueueWrite(fetch.Request.Key, toDisk);
        }
    }

    /// <summary>
    /// Moves a body of unknown length that outgrew memory to a file: a large entry on the disk tier when it may be stored
    /// there (then it is committed like any large object), otherwise a spill file that goes when its readers are done.
    /// Returns the large write, or null when the body will not be stored. Falls back to memory (bounded by the memory
    /// tier) only if no file can be opened.
    /// </summary>
    private LargeWrite? SpillToFile(InFlightFetch fetch, CacheEntry entry, bool storable)
    {
        if (storable && disk.CanStoreLarge)
        {
            LargeWrite? large = null;
            try
            {
                large = disk.BeginLarge(fetch.Request.Key, entry.SecondaryKey, fetch.Generation);
                entry.Body.SpillToFile(large.Handle);
                return large;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // As when a large body with a Content-Length cannot start: the disk tier degrades (BodyStoreException is
                // an IOException, for a copy that failed part-way). The body stays in memory.
                disk.FailLarge(large, ex);
                LogSpillFailed(logger, fetch.Request.Origin.Id, fetch.Request.Path, ex.Message);
                return null;
            }
        }

        SafeFileHandle? spill = null;
        try
        {
            spill = disk.OpenSpillFile();
            entry.Body.SpillToFile(spill);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            spill?.Dispose();
            LogSpillFailed(logger, fetch.Request.Origin.Id, fetch.Request.Path, ex.Message);
        }

        return null;
    }

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Origin {OriginId} body for {Path} failed after {Bytes} bytes: {Detail}; not stored")]
    private static partial void LogBodyFailed(ILogger logger, string originId, string path, long bytes, string detail);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Origin {OriginId} body for {Path} outgrew memory and could not move to a file: {Detail}; it streams from memory up to cache.memoryBytes")]
    private static partial void LogSpillFailed(ILogger logger, string originId, string path, string detail);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Spill file for the origin {OriginId} body for {Path} failed: {Detail}; its viewers are cut off (no disk tier to degrade)")]
    private static partial void LogSpillWriteFailed(ILogger logger, string originId, string path, string detail);

    [LoggerMessage(EventId = 106, Level = LogLevel.Information, Message = "Origin {OriginId} body for {Path} given up after {Bytes} bytes: it is not stored and no viewer is reading it any more")]
    private static partial void LogBodyAbandoned(ILogger logger, string originId, string path, long bytes);
}
