using System.Security.Cryptography;
using System.Threading.Channels;
using EdgeCache.Caching;
using EdgeCache.Purging;

namespace EdgeCache.Disk;

/// <summary>
/// Writes memory-sized entries to the tier in the background, from a bounded queue (a write that does not fit is
/// dropped: the entry is still in memory). Crash safety comes from the write order — temp file, fsync, atomic rename
/// (<see cref="DiskIndex.Commit"/>) — so a write cut off at any point leaves only a temp file, which start-up deletes.
/// A purge or invalidation that lands while a write waits or runs keeps it out.
/// </summary>
internal sealed partial class DiskEntryWriter(string directory, long maxBytes, DiskIndex index, DiskTierStatus status, PurgeLog purges, DiskHooks hooks, ILogger logger)
{
    private readonly Channel<(CacheKey Key, CacheEntry Entry, long Generation)> _writes =
        Channel.CreateBounded<(CacheKey, CacheEntry, long)>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private Task _loop = Task.CompletedTask;
    private long _queued;
    private long _handled;

    public void Start() => _loop = Task.Run(WriteLoopAsync, CancellationToken.None);

    /// <summary>Queues <paramref name="entry"/> (complete, memory-sized); dropped if the queue is full.</summary>
    public void Enqueue(CacheKey key, CacheEntry entry)
    {
        if (_writes.Writer.TryWrite((key, entry, purges.Generation)))
        {
            Interlocked.Increment(ref _queued);
        }
    }

    /// <summary>Writes queued so far; with <see cref="Handled"/>, tells a test when the writer has caught up.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    /// <summary>Queued writes the writer has finished with: written, skipped (purged, degraded) or failed.</summary>
    public long Handled => Interlocked.Read(ref _handled);

    /// <summary>
    /// Finishes the writes already queued within what is left of the host's grace period. Those still queued then are
    /// dropped, not an error: each is a copy of an entry the next start can refetch.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _writes.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogWritesDropped(logger, _writes.Reader.Count);
        }
    }

    public void Complete() => _writes.Writer.TryComplete();

    private async Task WriteLoopAsync()
    {
        await foreach (var (key, entry, generation) in _writes.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // A purge that landed while this write waited in the queue must not be undone by it.
            if (status.Degraded || purges.PurgedSince(generation, key.Path))
            {
                Interlocked.Increment(ref _handled);
                continue;
            }

            try
            {
                await WriteAsync(key, entry, generation).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                status.Degrade("write", ex);
            }
            catch (Exception ex) when (hooks.Fault is not null)
            {
                // A simulated crash: like the process dying, it leaves whatever it left; the writer stops.
                LogSimulatedCrash(logger, ex.Message);
                return;
            }

            Interlocked.Increment(ref _handled);
        }
    }

    private async Task WriteAsync(CacheKey key, CacheEntry entry, long generation)
    {
        var body = entry.Body.ToArray();
        var trailer = DiskEntryFormat.EncodeTrailer(DiskEntryMetadata.For(key, entry, body.Length, Convert.ToHexString(SHA256.HashData(body))));
        var path = DiskFiles.EntryPath(directory, key.Primary, entry.SecondaryKey);
        var temp = DiskFiles.TempPathFor(path);
        try
        {
            hooks.Fault?.Invoke("open");
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                var half = body.Length / 2;
                await file.WriteAsync(body.AsMemory(0, half)).ConfigureAwait(false);
                hooks.Fault?.Invoke("body");
                await file.WriteAsync(body.AsMemory(half)).ConfigureAwait(false);
                hooks.Fault?.Invoke("trailer");
                await file.WriteAsync(trailer).ConfigureAwait(false);
                hooks.Fault?.Invoke("flush");
                // fsync before the rename: after a power cut the name never points at unwritten blocks.
                file.Flush(flushToDisk: true);
            }

            index.Commit(temp, new DiskRecord(key, entry.SecondaryKey, path, (long)body.Length + trailer.Length, entry.ResponseTime), entry.VaryNames, generation);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            DiskFiles.TryDelete(temp);
            throw;
        }

        index.EvictOverBudget(maxBytes);
        status.Publish();
    }

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "Disk writer stopped by a simulated crash: {Detail}")]
    private static partial void LogSimulatedCrash(ILogger logger, string detail);

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "Shutdown grace period over: {Queued} queued disk writes dropped; those entries are refetched after the restart")]
    private static partial void LogWritesDropped(ILogger logger, int queued);
}
