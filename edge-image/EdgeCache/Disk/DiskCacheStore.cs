using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Observability;
using EdgeCache.Purging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Disk;

/// <summary>
/// The persistent tier below memory: one file per variant (see <see cref="DiskEntryFormat"/>), written through from the
/// memory tier in the background. Crash safety comes from the write order — temp file, fsync, atomic rename — so a write
/// cut off at any point leaves only a temp file, which start-up deletes. Every entry's metadata carries a SHA-256, and
/// the body's SHA-256 is checked whenever a disk entry is served, so a corrupt or truncated entry is dropped and refetched:
/// <list type="bullet">
/// <item>an entry small enough for memory is read whole and checked before it is served;</item>
/// <item>a large (file-backed) entry is streamed from its file, and is checked before it is first served by this process
/// (so damage found then is a plain refetch), then on every read of its whole body as it streams
/// (<see cref="FileBodyCheck"/>: a mismatch cuts the transfer off before its last block and drops the entry);</item>
/// <item>a range of a large entry cannot be checked as it streams, so it is served only while the entry's whole body was
/// verified within <see cref="RangeReadRecheckInterval"/>; past that, the body is verified again before the range is
/// served. Damage that lands between two checks can reach a range request for up to that long: the price of not
/// hashing a whole large file for every range.</item>
/// </list>
/// A write error (disk full, I/O) turns the tier off for a while with a log line and a metric; the node keeps serving
/// from memory.
/// </summary>
public sealed partial class DiskCacheStore : IHostedService, IDisposable
{
    private const string EntrySuffix = ".entry";
    private const string TempSuffix = ".tmp";

    /// <summary>How long a large entry's whole-body check stands for the ranges served from it (see the type's summary).</summary>
    public static readonly TimeSpan RangeReadRecheckInterval = TimeSpan.FromHours(1);

    private readonly string? _directory;
    private readonly DiskOptions _options;
    private readonly long _memoryObjectMax;
    private readonly int _maxVariantsPerUrl;
    private readonly TimeProvider _time;
    private readonly EdgeCacheMetrics _metrics;
    private readonly ILogger<DiskCacheStore> _logger;
    private readonly ConcurrentDictionary<string, DiskVariants> _index = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<DiskRecord> _insertionOrder = new();
    private readonly PurgeLog _purges;
    private readonly Channel<(CacheKey Key, CacheEntry Entry, long Generation)> _writes =
        Channel.CreateBounded<(CacheKey, CacheEntry, long)>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    // A large entry's trailer is rewritten in place when a 304 refreshes it (its body is too big to copy); a reader
    // takes the gate of the entry's path while it reads the trailer, so it never sees one half-written.
    private readonly SemaphoreSlim[] _trailerGates = [.. Enumerable.Range(0, 32).Select(_ => new SemaphoreSlim(1, 1))];

    // Every change to a primary key's variant set, and the file moves that go with it, is made under the key's lock
    // (striped): a write's rename and index, a Vary change, an invalidation's or purge's removal, an eviction. Otherwise
    // a write that had taken the key's set just before a Vary change or a purge replaced it would add its record to a
    // set no lookup finds (its file and bytes never released), or bring back what a purge had just removed. Lookups
    // read without it.
    private readonly Lock[] _keyLocks = [.. Enumerable.Range(0, 32).Select(_ => new Lock())];

    private long _bytes;
    private int _objects;
    private long _disabledUntilTicks;
    private Task _writer = Task.CompletedTask;

    public DiskCacheStore(IOptions<EdgeCacheOptions> options, PurgeLog purges, TimeProvider time, EdgeCacheMetrics metrics, ILogger<DiskCacheStore> logger)
    {
        _purges = purges;
        _options = options.Value.Cache.Disk;
        _memoryObjectMax = options.Value.Cache.MaxObjectBytes;
        _maxVariantsPerUrl = options.Value.Cache.MaxVariantsPerUrl;
        _directory = _options.Directory;
        _time = time;
        _metrics = metrics;
        _logger = logger;
    }

    public bool Enabled => _directory is not null;

    /// <summary>True while writes are suspended after an error.</summary>
    public bool Degraded => _time.GetUtcNow().UtcTicks < Interlocked.Read(ref _disabledUntilTicks);

    public long Bytes => Interlocked.Read(ref _bytes);

    // Counted where records join (Add) and leave (DeleteFile, a same-name Vary change): summing the index instead copied
    // every key's record set on each store, O(objects) per write.
    public int Count => Volatile.Read(ref _objects);

    /// <summary>
    /// Test hook: called at each step of a write ("open", "body", "trailer", "flush", "rename"). An IOException thrown here
    /// is handled like a real one; any other exception stands for the process dying at that point (nothing is cleaned up).
    /// Also called as "commit" when a write (queued or large) finds its key's lock taken and waits for it, and as
    /// "index" between reading a key's current record and swapping in the new one, so a test can hold one write there
    /// while another arrives.
    /// </summary>
    internal Action<string>? FaultHook { get; set; }

    /// <summary>
    /// Test hook: every descriptor the tier opens for a body that viewers read (a spill file, a large entry being written,
    /// an entry being loaded to serve), so a test can hold it and see that it is closed when its readers are done.
    /// </summary>
    internal Action<SafeFileHandle>? BodyFileOpened { get; set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_directory is null)
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(_directory);
            await IndexAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Degrade("index", ex);
        }

        _writer = Task.Run(WriteLoopAsync, CancellationToken.None);
    }

    /// <summary>
    /// Graceful shutdown: the writes already queued are finished within what is left of the host's grace period (none,
    /// when a response in flight used all of it). Those still queued then are dropped, not an error: each is a copy of an
    /// entry the next start can refetch, and a write cut off by the exit leaves only a temp file, which start-up deletes.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _writes.Writer.TryComplete();
        try
        {
            await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogWritesDropped(_logger, _writes.Reader.Count);
        }
    }

    /// <summary>Queues <paramref name="entry"/> (complete, memory-sized) to be written; dropped if the queue is full or the tier is degraded.</summary>
    public void EnqueueWrite(CacheKey key, CacheEntry entry)
    {
        // File-backed (large) bodies are already on disk; rewriting one to refresh its headers would read it whole.
        if (_directory is not null && entry.Body.IsCompleted && !entry.Body.IsFileBacked && !Degraded)
        {
            _writes.Writer.TryWrite((key, entry, _purges.Generation));
        }
    }

    /// <summary>The Vary names of the variants indexed for <paramref name="key"/>, or null if it has none on disk.</summary>
    public string[]? VaryNamesOf(CacheKey key) => _index.TryGetValue(key.Primary, out var variants) ? variants.VaryNames : null;

    /// <summary>Reads the variant this request selects, verifying both checksums; null on a miss or a bad entry (which is deleted).</summary>
    public async Task<CacheEntry?> LoadAsync(CacheKey key, IHeaderDictionary requestHeaders, CancellationToken cancellationToken)
    {
        if (_directory is null || !_index.TryGetValue(key.Primary, out var variants))
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
            var gate = GateFor(record.Path);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                handle = File.OpenHandle(record.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
                BodyFileOpened?.Invoke(handle);
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

            if (metadata.BodyLength > _memoryObjectMax)
            {
                // Large: served straight from the file, never read whole into memory. Its length and metadata are
                // verified on every read, its body as the type's summary says (an entry this process wrote was
                // hashed as it was written).
                var now = _time.GetUtcNow();
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
                    verified: () => record.Verified(_time.GetUtcNow()),
                    mismatch: () => Drop(record, "body checksum mismatch while serving"));
                return ToEntry(metadata, CachedBody.FromFile(handle, metadata.BodyLength, check));
            }

            var body = new byte[metadata.BodyLength];
            var read = await RandomAccess.ReadAsync(handle, body, 0, cancellationToken).ConfigureAwait(false);
            handle.Dispose();
            if (read != body.Length || !Convert.ToHexString(SHA256.HashData(body)).Equals(metadata.BodySha256, StringComparison.Ordinal))
            {
                Drop(record, "body checksum mismatch");
                return null;
            }

            return ToEntry(metadata, CachedBody.FromBytes(body));
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

    /// <summary>True when a response too large for memory can be streamed into the disk tier.</summary>
    public bool CanStoreLarge => _directory is not null && !Degraded;

    /// <summary>Opens a temp file for a large body that will stream in; <see cref="CommitLargeAsync"/> or <see cref="AbandonLarge"/> ends it.</summary>
    public LargeWrite BeginLarge(CacheKey key, string secondaryKey, long purgeGeneration)
    {
        var path = PathFor(key.Primary, secondaryKey);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}{TempSuffix}";
        var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
        BodyFileOpened?.Invoke(handle);
        return new LargeWrite(key, path, temp, handle) { Generation = purgeGeneration };
    }

    /// <summary>Appends the trailer, fsyncs and renames: from here the large entry is on disk and indexed.</summary>
    public async Task CommitLargeAsync(LargeWrite write, CacheEntry entry)
    {
        // Called where an origin read may have completed inline on a socket I/O thread (listen.inlineIo): the fsync below
        // blocks, so move to the thread pool first rather than stall every connection on that thread.
        await Task.Yield();
        if (_purges.PurgedSince(write.Generation, write.Key.Path))
        {
            AbandonLarge(write);
            return;
        }

        try
        {
            var body = entry.Body;
            var metadata = ToMetadata(write.Key, entry, body.Length, Convert.ToHexString(body.FileSha256()));
            var trailer = DiskEntryFormat.EncodeTrailer(metadata);
            await RandomAccess.WriteAsync(write.Handle, trailer, body.Length).ConfigureAwait(false);
            RandomAccess.FlushToDisk(write.Handle);
            var record = new DiskRecord(write.Key, entry.SecondaryKey, write.Path, body.Length + trailer.Length, entry.ResponseTime);
            record.Verified(_time.GetUtcNow());
            Commit(write.TempPath, record, entry.VaryNames, write.Generation);
            EvictOverBudget();
            Publish();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            AbandonLarge(write);
            Degrade("write", ex);
        }
    }

    /// <summary>
    /// A 304 refreshed a large (file-backed) entry: its trailer is rewritten in place with the refreshed metadata, so later
    /// requests, in this process and after a restart, find it fresh. Only if the file still holds the body that was
    /// revalidated (a newer fetch may have replaced it). A write cut off here leaves a trailer that fails its checksum,
    /// so the entry is dropped and refetched, never served wrong.
    /// </summary>
    public async Task RefreshLargeAsync(CacheKey key, CacheEntry stale, CacheEntry refreshed, CancellationToken cancellationToken)
    {
        // Called where an origin read may have completed inline on a socket I/O thread (listen.inlineIo): the fsync below
        // blocks, so move to the thread pool first rather than stall every connection on that thread.
        await Task.Yield();
        if (_directory is null || Degraded
            || !_index.TryGetValue(key.Primary, out var variants)
            || !variants.Records.TryGetValue(refreshed.SecondaryKey, out var record))
        {
            return;
        }

        var gate = GateFor(record.Path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var handle = File.OpenHandle(record.Path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
            var (current, _) = await DiskEntryFormat.ReadTrailerAsync(handle, cancellationToken).ConfigureAwait(false);
            if (current is null || current.PrimaryKey != key.Primary || current.BodyLength != stale.Body.Length || current.ResponseTime != stale.ResponseTime)
            {
                return;
            }

            var trailer = DiskEntryFormat.EncodeTrailer(ToMetadata(key, refreshed, current.BodyLength, current.BodySha256));
            FaultHook?.Invoke("refresh");
            await RandomAccess.WriteAsync(handle, trailer, current.BodyLength, cancellationToken).ConfigureAwait(false);
            RandomAccess.SetLength(handle, current.BodyLength + trailer.Length);
            RandomAccess.FlushToDisk(handle);
            lock (KeyLock(key.Primary))
            {
                // Only a record still indexed: one an invalidation, purge or eviction took out meanwhile had its file
                // deleted (this handle wrote to the unlinked file), and must not come back.
                if (IsIndexed(record))
                {
                    var rewritten = new DiskRecord(record.Key, record.SecondaryKey, record.Path, current.BodyLength + trailer.Length, refreshed.ResponseTime);
                    rewritten.CopyVerification(record);
                    Add(rewritten, refreshed.VaryNames);
                }
            }

            Publish();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Degrade("write", ex);
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
    public void FailLarge(LargeWrite? write, Exception error)
    {
        if (write is not null)
        {
            AbandonLarge(write);
            // Closed now, not when the collector gets to it: a deleted file's blocks are only freed with its last handle,
            // and the disk is likely full. Its readers are being failed anyway (they see an incomplete body).
            write.Handle.Dispose();
        }

        Degrade("write", error);
    }

    /// <summary>Where spill files go when there is no disk tier: the process's temp directory ($TMPDIR); tests point it at a small mount.</summary>
    internal string TempDirectory { get; set; } = Path.GetTempPath();

    /// <summary>
    /// A file for a body of unknown length that outgrew memory but will not be stored (not storable, or no usable disk
    /// tier): on the disk tier's volume when there is one (sized for cache bodies, unlike a container's small /tmp),
    /// otherwise in the temp directory. It is unlinked at once, so its space goes back with its last reader's handle and
    /// a crash leaves nothing behind (a start-up's index pass also drops any <c>.tmp</c> that survived).
    /// </summary>
    public SafeFileHandle OpenSpillFile()
    {
        var directory = _directory is null ? TempDirectory : Path.Combine(_directory, "spill");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"spill-{Guid.NewGuid():N}{TempSuffix}");
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        if (!OperatingSystem.IsWindows())
        {
            TryDelete(path);
        }

        BodyFileOpened?.Invoke(handle);
        return handle;
    }

    /// <summary>The large body failed or may not be stored: its temp file goes (open readers keep their handle).</summary>
    public static void AbandonLarge(LargeWrite write) => TryDelete(write.TempPath);

    /// <summary>Removes every variant stored under <paramref name="key"/> (invalidation after an unsafe method); returns how many.</summary>
    public int Remove(CacheKey key)
    {
        if (_directory is null)
        {
            return 0;
        }

        int removed;
        lock (KeyLock(key.Primary))
        {
            removed = _index.TryRemove(key.Primary, out var variants) ? DeleteFiles(variants) : 0;
        }

        Publish();
        return removed;
    }

    /// <summary>Removes every variant of the URLs whose path <paramref name="selected"/> selects (purges); returns how many.</summary>
    public int RemovePaths(Func<string, bool> selected)
    {
        var removed = 0;
        foreach (var (primary, found) in _index)
        {
            if (selected(found.Key.Path))
            {
                lock (KeyLock(primary))
                {
                    // The set removed, not the one enumerated: a Vary change may have replaced it since.
                    if (_index.TryRemove(primary, out var variants))
                    {
                        removed += DeleteFiles(variants);
                    }
                }
            }
        }

        Publish();
        return removed;
    }

    /// <summary>Deletes the files of a variant set already taken out of the index; returns how many.</summary>
    private int DeleteFiles(DiskVariants variants)
    {
        var removed = 0;
        foreach (var record in variants.Records.Values)
        {
            DeleteFile(record);
            removed++;
        }

        return removed;
    }

    private async Task IndexAsync(CancellationToken cancellationToken)
    {
        var indexed = 0;
        foreach (var path in Directory.EnumerateFiles(_directory!, "*", SearchOption.AllDirectories))
        {
            if (path.EndsWith(TempSuffix, StringComparison.Ordinal))
            {
                // A write that never reached its rename: the process died mid-write. Never an entry.
                TryDelete(path);
                continue;
            }

            if (!path.EndsWith(EntrySuffix, StringComparison.Ordinal))
            {
                continue;
            }

            DiskEntryMetadata? metadata;
            string? problem;
            long size;
            try
            {
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
                size = RandomAccess.GetLength(handle);
                (metadata, problem) = await DiskEntryFormat.ReadTrailerAsync(handle, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                (metadata, problem, size) = (null, ex.Message, 0);
            }

            if (metadata is { Path: "" })
            {
                // Purges match an entry by its request path, which an entry written without one cannot be matched by.
                (metadata, problem) = (null, "no request path recorded (written by an older version)");
            }

            if (metadata is null)
            {
                _metrics.DiskCorruptEntries.Inc();
                LogDropped(_logger, path, problem ?? "unreadable");
                TryDelete(path);
                continue;
            }

            lock (KeyLock(metadata.PrimaryKey))
            {
                Add(new DiskRecord(new CacheKey(metadata.PrimaryKey, metadata.Path), metadata.SecondaryKey, path, size, metadata.ResponseTime), metadata.VaryNames);
            }

            indexed++;
        }

        EvictOverBudget();
        Publish();
        LogIndexed(_logger, indexed, Bytes, _directory!);
    }

    private async Task WriteLoopAsync()
    {
        await foreach (var (key, entry, generation) in _writes.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // A purge that landed while this write waited in the queue must not be undone by it.
            if (Degraded || _purges.PurgedSince(generation, key.Path))
            {
                continue;
            }

            try
            {
                await WriteAsync(key, entry, generation).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Degrade("write", ex);
            }
            catch (Exception ex) when (FaultHook is not null)
            {
                // A simulated crash: like the process dying, it leaves whatever it left; the writer stops.
                LogSimulatedCrash(_logger, ex.Message);
                return;
            }
        }
    }

    private async Task WriteAsync(CacheKey key, CacheEntry entry, long generation)
    {
        var body = entry.Body.ToArray();
        var trailer = DiskEntryFormat.EncodeTrailer(ToMetadata(key, entry, body.Length, Convert.ToHexString(SHA256.HashData(body))));
        var path = PathFor(key.Primary, entry.SecondaryKey);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = $"{path}.{Guid.NewGuid():N}{TempSuffix}";
        try
        {
            FaultHook?.Invoke("open");
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
            {
                var half = body.Length / 2;
                await file.WriteAsync(body.AsMemory(0, half)).ConfigureAwait(false);
                FaultHook?.Invoke("body");
                await file.WriteAsync(body.AsMemory(half)).ConfigureAwait(false);
                FaultHook?.Invoke("trailer");
                await file.WriteAsync(trailer).ConfigureAwait(false);
                FaultHook?.Invoke("flush");
                // fsync before the rename: after a power cut the name never points at unwritten blocks.
                file.Flush(flushToDisk: true);
            }

            Commit(temp, new DiskRecord(key, entry.SecondaryKey, path, (long)body.Length + trailer.Length, entry.ResponseTime), entry.VaryNames, generation);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw;
        }

        EvictOverBudget();
        Publish();
    }

    /// <summary>
    /// Renames a written temp file to its entry's path and indexes it, under the key's lock. Two commits of one entry
    /// (the write queue, a large body's commit) then land in the same order on disk and in the index, so the indexed
    /// record always describes the file at its path (without it, the index could keep the record of the write whose file
    /// the other's rename replaced, and its size). A 304's trailer rewrite racing it re-indexes only a record still
    /// indexed. The fsync is done before, so the lock is held only for the rename. False when a purge or invalidation
    /// since <paramref name="generation"/> covers the entry: the temp file is deleted instead.
    /// </summary>
    private bool Commit(string temp, DiskRecord record, string[] varyNames, long generation)
    {
        var keyLock = KeyLock(record.PrimaryKey);
        if (!keyLock.TryEnter())
        {
            // Another change to the key holds it; the test hook hears that this write waits behind it.
            FaultHook?.Invoke("commit");
            keyLock.Enter();
        }

        try
        {
            FaultHook?.Invoke("rename");
            // Checked again where a purge's sweep cannot interleave. A purge is recorded before it sweeps, so one that
            // came after the write's first check is either seen here or sweeps this record once it is in.
            if (_purges.PurgedSince(generation, record.Key.Path))
            {
                TryDelete(temp);
                return false;
            }

            File.Move(temp, record.Path, overwrite: true);
            Add(record, varyNames);
            return true;
        }
        finally
        {
            keyLock.Exit();
        }
    }

    /// <summary>Indexes <paramref name="record"/>, releasing the one it replaces. The caller holds the key's lock.</summary>
    private void Add(DiskRecord record, string[] varyNames)
    {
        var variants = VariantsFor(record, varyNames);
        var replacing = variants.Records.TryGetValue(record.SecondaryKey, out var previous);
        FaultHook?.Invoke("index");
        if (!replacing && variants.Records.Count >= _maxVariantsPerUrl)
        {
            EvictOldestVariant(variants);
        }

        variants.Records[record.SecondaryKey] = record;
        if (replacing)
        {
            Interlocked.Add(ref _bytes, record.Size - previous!.Size);
        }
        else
        {
            Interlocked.Increment(ref _objects);
            Interlocked.Add(ref _bytes, record.Size);
        }

        _insertionOrder.Enqueue(record);
    }

    /// <summary>
    /// Makes room for a new variant of a URL at cache.maxVariantsPerUrl: its variant received longest ago goes (the disk
    /// tier keeps no hits to judge by, as for its FIFO eviction). A scan of the URL's variants, bounded by the cap, and
    /// only when a URL is at it. The caller holds the key's lock.
    /// </summary>
    private void EvictOldestVariant(DiskVariants variants)
    {
        DiskRecord? oldest = null;
        foreach (var candidate in variants.Records.Values)
        {
            if (oldest is null || candidate.ResponseTime < oldest.ResponseTime)
            {
                oldest = candidate;
            }
        }

        if (oldest is not null && variants.Records.TryRemove(new KeyValuePair<string, DiskRecord>(oldest.SecondaryKey, oldest)))
        {
            DeleteFile(oldest);
            _metrics.DiskEvictions.Inc();
        }
    }

    private bool IsIndexed(DiskRecord record) =>
        _index.TryGetValue(record.PrimaryKey, out var variants)
        && variants.Records.TryGetValue(record.SecondaryKey, out var indexed)
        && ReferenceEquals(indexed, record);

    /// <summary>
    /// The variant set <paramref name="record"/> joins. When the origin changed the key's Vary, the variants selected by
    /// the old Vary can never be found again: their files are deleted and their bytes leave the budget.
    /// </summary>
    private DiskVariants VariantsFor(DiskRecord record, string[] varyNames)
    {
        while (true)
        {
            if (!_index.TryGetValue(record.PrimaryKey, out var existing))
            {
                var created = new DiskVariants(record.Key, varyNames);
                if (_index.TryAdd(record.PrimaryKey, created))
                {
                    return created;
                }

                continue;
            }

            if (existing.VaryNames.AsSpan().SequenceEqual(varyNames))
            {
                return existing;
            }

            var replacement = new DiskVariants(record.Key, varyNames);
            if (!_index.TryUpdate(record.PrimaryKey, replacement, existing))
            {
                continue;
            }

            foreach (var old in existing.Records.Values)
            {
                if (old.Path == record.Path)
                {
                    // Same name: the new entry has already been renamed over it; only its bytes and count are released.
                    Interlocked.Add(ref _bytes, -old.Size);
                    Interlocked.Decrement(ref _objects);
                }
                else
                {
                    DeleteFile(old);
                }
            }

            return replacement;
        }
    }

    /// <summary>
    /// FIFO by write time. The disk tier only receives what the memory tier already chose to keep (SIEVE filters the
    /// one-hit wonders there), so the simplest order that needs no per-hit bookkeeping on disk is enough.
    /// </summary>
    private void EvictOverBudget()
    {
        while (Interlocked.Read(ref _bytes) > _options.MaxBytes && _insertionOrder.TryDequeue(out var oldest))
        {
            // Removed only if still the indexed record: one replaced meanwhile was released by Add. Under the key's lock,
            // so a write renaming a newer file to the same name cannot land between the removal and the delete.
            lock (KeyLock(oldest.PrimaryKey))
            {
                if (_index.TryGetValue(oldest.PrimaryKey, out var variants)
                    && variants.Records.TryRemove(new KeyValuePair<string, DiskRecord>(oldest.SecondaryKey, oldest)))
                {
                    DeleteFile(oldest);
                    _metrics.DiskEvictions.Inc();
                }
            }
        }
    }

    private void Drop(DiskRecord record, string problem)
    {
        _metrics.DiskCorruptEntries.Inc();
        LogDropped(_logger, record.Path, problem);
        // Only a record still indexed: one already replaced or removed had its bytes and count released then, and a
        // replacement at the same path is a different, newer file.
        lock (KeyLock(record.PrimaryKey))
        {
            if (_index.TryGetValue(record.PrimaryKey, out var variants)
                && variants.Records.TryRemove(new KeyValuePair<string, DiskRecord>(record.SecondaryKey, record)))
            {
                DeleteFile(record);
            }
        }

        Publish();
    }

    private void DeleteFile(DiskRecord record)
    {
        Interlocked.Add(ref _bytes, -record.Size);
        Interlocked.Decrement(ref _objects);
        TryDelete(record.Path);
    }

    private void Degrade(string during, Exception ex)
    {
        var until = _time.GetUtcNow().AddSeconds(_options.RetryAfterErrorSeconds);
        Interlocked.Exchange(ref _disabledUntilTicks, until.UtcTicks);
        // State first, then the counter: whoever sees the error counted also sees the tier degraded.
        Publish();
        _metrics.DiskErrors.WithLabels(during).Inc();
        LogDegraded(_logger, during, ex.Message, _options.RetryAfterErrorSeconds);
    }

    private void Publish()
    {
        _metrics.DiskStoredBytes.Set(Bytes);
        _metrics.DiskStoredObjects.Set(Count);
        _metrics.DiskDegraded.Set(Degraded ? 1 : 0);
    }

    private string PathFor(string primaryKey, string secondaryKey)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(primaryKey + "\n" + secondaryKey)));
        return Path.Combine(_directory!, hash[..2], hash + EntrySuffix);
    }

    private Lock KeyLock(string primaryKey) => _keyLocks[(primaryKey.GetHashCode(StringComparison.Ordinal) & int.MaxValue) % _keyLocks.Length];

    private SemaphoreSlim GateFor(string path) => _trailerGates[(path.GetHashCode(StringComparison.Ordinal) & int.MaxValue) % _trailerGates.Length];

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next start-up's index pass to find and drop.
        }
    }

    private static DiskEntryMetadata ToMetadata(CacheKey key, CacheEntry entry, long bodyLength, string bodySha256) => new()
    {
        PrimaryKey = key.Primary,
        Path = key.Path,
        SecondaryKey = entry.SecondaryKey,
        VaryNames = entry.VaryNames,
        StatusCode = entry.StatusCode,
        Headers = [.. entry.Headers.Select(h => (string[])[h.Key, .. h.Value.Select(v => v ?? "")])],
        ContentLength = entry.ContentLength,
        RequestTime = entry.RequestTime,
        ResponseTime = entry.ResponseTime,
        CorrectedInitialAgeTicks = entry.CorrectedInitialAge.Ticks,
        FreshnessLifetimeTicks = entry.FreshnessLifetime.Ticks,
        ETag = entry.ETag,
        LastModified = entry.LastModified,
        BodyLength = bodyLength,
        BodySha256 = bodySha256,
    };

    private static CacheEntry ToEntry(DiskEntryMetadata metadata, CachedBody body)
    {
        var headers = metadata.Headers.Where(h => h.Length >= 1).Select(h => new KeyValuePair<string, StringValues>(h[0], new StringValues(h[1..]))).ToList();
        return new CacheEntry
        {
            StatusCode = metadata.StatusCode,
            Headers = headers,
            Body = body,
            ContentLength = metadata.ContentLength,
            RequestTime = metadata.RequestTime,
            ResponseTime = metadata.ResponseTime,
            CorrectedInitialAge = TimeSpan.FromTicks(metadata.CorrectedInitialAgeTicks),
            FreshnessLifetime = TimeSpan.FromTicks(metadata.FreshnessLifetimeTicks),
            CacheControl = CacheControl.Parse(CachePolicy.Find(headers, "Cache-Control")),
            VaryNames = metadata.VaryNames,
            SecondaryKey = metadata.SecondaryKey,
            ETag = metadata.ETag,
            LastModified = metadata.LastModified,
        };
    }

    public void Dispose()
    {
        _writes.Writer.TryComplete();
        foreach (var gate in _trailerGates)
        {
            gate.Dispose();
        }
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Disk tier indexed {Entries} entries ({Bytes} bytes) in {Directory}")]
    private static partial void LogIndexed(ILogger logger, int entries, long bytes, string directory);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Disk entry {Path} dropped: {Problem}; it will be refetched")]
    private static partial void LogDropped(ILogger logger, string path, string problem);

    [LoggerMessage(EventId = 602, Level = LogLevel.Error, Message = "Disk tier error during {During}: {Detail}; serving from memory only, retrying writes in {RetrySeconds} s")]
    private static partial void LogDegraded(ILogger logger, string during, string detail, int retrySeconds);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "Disk writer stopped by a simulated crash: {Detail}")]
    private static partial void LogSimulatedCrash(ILogger logger, string detail);

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "Shutdown grace period over: {Queued} queued disk writes dropped; those entries are refetched after the restart")]
    private static partial void LogWritesDropped(ILogger logger, int queued);

    /// <summary>A large body being streamed into a temp file on the disk tier.</summary>
    public sealed class LargeWrite(CacheKey key, string path, string tempPath, SafeFileHandle handle)
    {
        public CacheKey Key { get; } = key;

        public string Path { get; } = path;

        public string TempPath { get; } = tempPath;

        public SafeFileHandle Handle { get; } = handle;

        /// <summary>Purge generation when the fetch began.</summary>
        public long Generation { get; init; }
    }

    /// <summary>One indexed file. A class, not a record: the index swaps and removes records by identity.</summary>
    private sealed class DiskRecord(CacheKey key, string secondaryKey, string path, long size, DateTimeOffset responseTime)
    {
        public CacheKey Key { get; } = key;

        public string PrimaryKey => Key.Primary;

        public string SecondaryKey { get; } = secondaryKey;

        public string Path { get; } = path;

        public long Size { get; } = size;

        /// <summary>When the origin's response arrived: of a URL's variants, the one received longest ago goes first at its cap.</summary>
        public DateTimeOffset ResponseTime { get; } = responseTime;

        // When this process last checked the body's SHA-256 whole (or computed it while writing); 0: never.
        private long _verifiedAtTicks;

        /// <summary>
        /// The body need not be checked before this read: it has been checked by this process, and for a range (which
        /// cannot be checked as it streams) within <see cref="RangeReadRecheckInterval"/>.
        /// </summary>
        public bool VerifiedFor(DateTimeOffset now, bool ranged)
        {
            var at = Volatile.Read(ref _verifiedAtTicks);
            return at != 0 && (!ranged || now.UtcTicks - at <= RangeReadRecheckInterval.Ticks);
        }

        public void Verified(DateTimeOffset now) => Volatile.Write(ref _verifiedAtTicks, now.UtcTicks);

        public void CopyVerification(DiskRecord from) => Volatile.Write(ref _verifiedAtTicks, Volatile.Read(ref from._verifiedAtTicks));
    }

    private sealed class DiskVariants(CacheKey key, string[] varyNames)
    {
        /// <summary>The key every variant here is stored under; its path is what purges match.</summary>
        public CacheKey Key { get; } = key;

        public string[] VaryNames { get; } = varyNames;

        public ConcurrentDictionary<string, DiskRecord> Records { get; } = new(StringComparer.Ordinal);
    }
}
