using EdgeCache.Caching;
using EdgeCache.Purging;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Disk;

/// <summary>
/// Bodies too large for memory, which stream through files instead: a large entry is written into a temp file as it
/// arrives (its viewers read it from there by position), then committed like any entry — trailer, fsync, rename under
/// the key's lock (<see cref="DiskIndex.Commit"/>). A 304 rewrites its trailer in place, under the path's trailer gate.
/// A body that will not be stored goes to an unlinked spill file instead.
/// </summary>
internal sealed class LargeObjects(string? directory, long maxBytes, DiskIndex index, TrailerGates gates, DiskTierStatus status, PurgeLog purges, DiskHooks hooks, TimeProvider time)
{
    /// <summary>Where spill files go when there is no disk tier: the process's temp directory ($TMPDIR); tests point it at a small mount.</summary>
    public string TempDirectory { get; set; } = Path.GetTempPath();

    public bool CanStore => directory is not null && !status.Degraded;

    public LargeWrite Begin(CacheKey key, string secondaryKey, long purgeGeneration)
    {
        var path = DiskFiles.EntryPath(directory!, key.Primary, secondaryKey);
        var temp = DiskFiles.TempPathFor(path);
        var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
        hooks.BodyFileOpened?.Invoke(handle);
        return new LargeWrite(key, path, temp, handle) { Generation = purgeGeneration };
    }

    /// <summary>Appends the trailer, fsyncs and renames: from here the large entry is on disk and indexed.</summary>
    public async Task CommitAsync(LargeWrite write, CacheEntry entry)
    {
        // Called where an origin read may have completed inline on a socket I/O thread (listen.inlineIo): the fsync below
        // blocks, so move to the thread pool first rather than stall every connection on that thread.
        await Task.Yield();
        if (purges.PurgedSince(write.Generation, write.Key.Path))
        {
            Abandon(write);
            return;
        }

        try
        {
            var body = entry.Body;
            var metadata = DiskEntryMetadata.For(write.Key, entry, body.Length, Convert.ToHexString(body.FileSha256()));
            var trailer = DiskEntryFormat.EncodeTrailer(metadata);
            await RandomAccess.WriteAsync(write.Handle, trailer, body.Length).ConfigureAwait(false);
            RandomAccess.FlushToDisk(write.Handle);
            var record = new DiskRecord(write.Key, entry.SecondaryKey, write.Path, body.Length + trailer.Length, entry.ResponseTime);
            record.Verified(time.GetUtcNow());
            index.Commit(write.TempPath, record, entry.VaryNames, write.Generation);
            index.EvictOverBudget(maxBytes);
            status.Publish();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Abandon(write);
            status.Degrade("write", ex);
        }
    }

    /// <summary>
    /// A 304 refreshed a large entry: its trailer is rewritten in place with the refreshed metadata, so later requests, in
    /// this process and after a restart, find it fresh. Only if the file still holds the body that was revalidated (a
    /// newer fetch may have replaced it). A write cut off here leaves a trailer that fails its checksum, so the entry is
    /// dropped and refetched, never served wrong.
    /// </summary>
    public async Task RefreshAsync(CacheKey key, CacheEntry stale, CacheEntry refreshed, CancellationToken cancellationToken)
    {
        // Called where an origin read may have completed inline on a socket I/O thread (listen.inlineIo): the fsync below
        // blocks, so move to the thread pool first rather than stall every connection on that thread.
        await Task.Yield();
        if (directory is null || status.Degraded
            || !index.TryGet(key.Primary, out var variants)
            || !variants.Records.TryGetValue(refreshed.SecondaryKey, out var record))
        {
            return;
        }

        var gate = gates.For(record.Path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var handle = File.OpenHandle(record.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
            var (current, _) = await DiskEntryFormat.ReadTrailerAsync(handle, cancellationToken).ConfigureAwait(false);
            if (current is null || current.PrimaryKey != key.Primary || current.BodyLength != stale.Body.Length || current.ResponseTime != stale.ResponseTime)
            {
                return;
            }

            var trailer = DiskEntryFormat.EncodeTrailer(DiskEntryMetadata.For(key, refreshed, current.BodyLength, current.BodySha256));
            hooks.Fault?.Invoke("refresh");
            await RandomAccess.WriteAsync(handle, trailer, current.BodyLength, cancellationToken).ConfigureAwait(false);
            RandomAccess.SetLength(handle, current.BodyLength + trailer.Length);
            RandomAccess.FlushToDisk(handle);
            var rewritten = new DiskRecord(record.Key, record.SecondaryKey, record.Path, current.BodyLength + trailer.Length, refreshed.ResponseTime);
            rewritten.CopyVerification(record);
            // This handle wrote to the file even if it was unlinked meanwhile: the index takes the record only if still in it.
            index.Replace(record, rewritten, refreshed.VaryNames);
            status.Publish();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            status.Degrade("write", ex);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Writing a large body failed on the disk (full, I/O error): its temp file goes and the tier degrades like on any
    /// other write error, so the large responses that follow are passed through until the retry time.
    /// </summary>
    public void Fail(LargeWrite? write, Exception error)
    {
        if (write is not null)
        {
            Abandon(write);
            // Closed now, not when the collector gets to it: a deleted file's blocks are only freed with its last handle,
            // and the disk is likely full. Its readers are being failed anyway (they see an incomplete body).
            write.Handle.Dispose();
        }

        status.Degrade("write", error);
    }

    /// <summary>The large body failed or may not be stored: its temp file goes (open readers keep their handle).</summary>
    public static void Abandon(LargeWrite write) => DiskFiles.TryDelete(write.TempPath);

    /// <summary>
    /// A file for a body of unknown length that outgrew memory but will not be stored (not storable, or no usable disk
    /// tier): on the disk tier's volume when there is one (sized for cache bodies, unlike a container's small /tmp),
    /// otherwise in the temp directory. It is unlinked at once, so its space goes back with its last reader's handle and
    /// a crash leaves nothing behind (a start-up's index pass also drops any <c>.tmp</c> that survived).
    /// </summary>
    public SafeFileHandle OpenSpillFile()
    {
        var spillDirectory = directory is null ? TempDirectory : Path.Combine(directory, "spill");
        Directory.CreateDirectory(spillDirectory);
        var path = Path.Combine(spillDirectory, $"spill-{Guid.NewGuid():N}{DiskFiles.TempSuffix}");
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        if (!OperatingSystem.IsWindows())
        {
            DiskFiles.TryDelete(path);
        }

        hooks.BodyFileOpened?.Invoke(handle);
        return handle;
    }
}
