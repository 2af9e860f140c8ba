using System.Collections.Concurrent;
using EdgeCache.Caching;
using EdgeCache.Observability;
using EdgeCache.Purging;

namespace EdgeCache.Disk;

/// <summary>
/// The tier's index: primary key → its variants' files, the order they were written in (FIFO eviction), and their
/// total size against disk.maxBytes. It keeps these invariants:
/// <list type="bullet">
/// <item>Every change to a key's variant set, and the file moves that go with it (a write's rename, a Vary change, an
/// invalidation's or purge's removal, an eviction), is made under the key's lock, so a write that had taken the key's
/// set just before a Vary change or a purge replaced it cannot add its record to a set no lookup finds (its file and
/// bytes never released) or bring back what a purge removed. Lookups read without it.</item>
/// <item>The indexed record of a variant always describes the file at its path: two commits of one entry rename and
/// index in the same order.</item>
/// <item><see cref="Bytes"/> and <see cref="Count"/> are the sizes and number of the indexed records: a record is
/// released once, when it leaves the index, and removals act only on a record still indexed (by identity).</item>
/// </list>
/// </summary>
internal sealed partial class DiskIndex(int maxVariantsPerUrl, long entryLimit, PurgeLog purges, EdgeCacheMetrics metrics, DiskHooks hooks, ILogger logger)
{
    private readonly ConcurrentDictionary<string, DiskVariants> _index = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<DiskRecord> _insertionOrder = new();
    private readonly Lock[] _keyLocks = [.. Enumerable.Range(0, 32).Select(_ => new Lock())];
    private long _bytes;

    // Counted where records join (Add) and leave (DeleteFile, a same-name Vary change): summing the index instead copied
    // every key's record set on each store, O(objects) per write.
    private int _objects;

    public long Bytes => Interlocked.Read(ref _bytes);

    public int Count => Volatile.Read(ref _objects);

    public bool TryGet(string primaryKey, out DiskVariants variants) => _index.TryGetValue(primaryKey, out variants!);

    /// <summary>Indexes the entry files found in <paramref name="directory"/> at start-up (then evicts to <paramref name="maxBytes"/>); drops temp files and unreadable entries.</summary>
    public async Task LoadAsync(string directory, long maxBytes, CancellationToken cancellationToken)
    {
        var indexed = 0;
        foreach (var path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            if (path.EndsWith(DiskFiles.TempSuffix, StringComparison.Ordinal))
            {
                // A write that never reached its rename: the process died mid-write. Never an entry.
                DiskFiles.TryDelete(path);
                continue;
            }

            if (!path.EndsWith(DiskFiles.EntrySuffix, StringComparison.Ordinal))
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
                metrics.DiskCorruptEntries.Inc();
                LogDropped(logger, path, problem ?? "unreadable");
                DiskFiles.TryDelete(path);
                continue;
            }

            lock (KeyLock(metadata.PrimaryKey))
            {
                Add(new DiskRecord(new CacheKey(metadata.PrimaryKey, metadata.Path), metadata.SecondaryKey, path, size, metadata.ResponseTime), metadata.VaryNames);
            }

            indexed++;
        }

        EvictOverBudget(maxBytes);
        LogIndexed(logger, indexed, Bytes, directory);
    }

    /// <summary>
    /// Renames a written (and fsynced) temp file to its entry's path and indexes it, under the key's lock: the lock is
    /// held only for the rename. False when a purge or invalidation since <paramref name="generation"/> covers the entry:
    /// the temp file is deleted instead. A purge is recorded before it sweeps, so one that came after the write's first
    /// check is either seen here or sweeps this record once it is in.
    /// </summary>
    public bool Commit(string temp, DiskRecord record, string[] varyNames, long generation)
    {
        var keyLock = KeyLock(record.PrimaryKey);
        if (!keyLock.TryEnter())
        {
            // Another change to the key holds it; the test hook hears that this write waits behind it.
            hooks.Fault?.Invoke("commit");
            keyLock.Enter();
        }

        try
        {
            hooks.Fault?.Invoke("rename");
            if (purges.PurgedSince(generation, record.Key.Path))
            {
                DiskFiles.TryDelete(temp);
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

    /// <summary>
    /// Indexes <paramref name="rewritten"/> in place of <paramref name="indexed"/> (a large entry's refreshed trailer), only
    /// if <paramref name="indexed"/> is still indexed: one an invalidation, purge or eviction took out meanwhile had its
    /// file deleted, and must not come back.
    /// </summary>
    public void Replace(DiskRecord indexed, DiskRecord rewritten, string[] varyNames)
    {
        lock (KeyLock(indexed.PrimaryKey))
        {
            if (IsIndexed(indexed))
            {
                Add(rewritten, varyNames);
            }
        }
    }

    /// <summary>Removes every variant stored under <paramref name="primaryKey"/>; returns how many.</summary>
    public int Remove(string primaryKey)
    {
        lock (KeyLock(primaryKey))
        {
            return _index.TryRemove(primaryKey, out var variants) ? DeleteFiles(variants) : 0;
        }
    }

    /// <summary>Removes every variant of the URLs whose path <paramref name="selected"/> selects; returns how many.</summary>
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

        return removed;
    }

    /// <summary>Takes a bad entry out: only a record still indexed (a replacement at the same path is a different, newer file).</summary>
    public void Drop(DiskRecord record)
    {
        lock (KeyLock(record.PrimaryKey))
        {
            if (_index.TryGetValue(record.PrimaryKey, out var variants)
                && variants.Records.TryRemove(new KeyValuePair<string, DiskRecord>(record.SecondaryKey, record)))
            {
                DeleteFile(record);
                ForgetIfEmpty(record.PrimaryKey, variants);
            }
        }
    }

    /// <summary>URLs in the index; never more than <see cref="Count"/>, since a URL whose last variant goes leaves it.</summary>
    public int Urls => _index.Count;

    /// <summary>
    /// Takes a URL whose last variant went out of the index: with a stream of unique URLs, empty sets would otherwise
    /// pile up for the life of the process. The caller holds the key's lock, which every Add takes too.
    /// </summary>
    private void ForgetIfEmpty(string primaryKey, DiskVariants variants)
    {
        if (variants.Records.IsEmpty)
        {
            _index.TryRemove(new KeyValuePair<string, DiskVariants>(primaryKey, variants));
        }
    }

    /// <summary>
    /// FIFO by write time. The disk tier only receives what the memory tier already chose to keep (SIEVE filters the
    /// one-hit wonders there), so the simplest order that needs no per-hit bookkeeping on disk is enough.
    /// </summary>
    public void EvictOverBudget(long maxBytes)
    {
        while ((Interlocked.Read(ref _bytes) > maxBytes || Count > entryLimit) && _insertionOrder.TryDequeue(out var oldest))
        {
            // Removed only if still the indexed record: one replaced meanwhile was released by Add. Under the key's lock,
            // so a write renaming a newer file to the same name cannot land between the removal and the delete.
            lock (KeyLock(oldest.PrimaryKey))
            {
                if (_index.TryGetValue(oldest.PrimaryKey, out var variants)
                    && variants.Records.TryRemove(new KeyValuePair<string, DiskRecord>(oldest.SecondaryKey, oldest)))
                {
                    DeleteFile(oldest);
                    ForgetIfEmpty(oldest.PrimaryKey, variants);
                    metrics.DiskEvictions.Inc();
                }
            }
        }
    }

    /// <summary>Indexes <paramref name="record"/>, releasing the one it replaces. The caller holds the key's lock.</summary>
    private void Add(DiskRecord record, string[] varyNames)
    {
        var variants = VariantsFor(record, varyNames);
        var replacing = variants.Records.TryGetValue(record.SecondaryKey, out var previous);
        hooks.Fault?.Invoke("index");
        if (!replacing && variants.Records.Count >= maxVariantsPerUrl)
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
            metrics.DiskEvictions.Inc();
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

    private void DeleteFile(DiskRecord record)
    {
        Interlocked.Add(ref _bytes, -record.Size);
        Interlocked.Decrement(ref _objects);
        DiskFiles.TryDelete(record.Path);
    }

    private Lock KeyLock(string primaryKey) => _keyLocks[(primaryKey.GetHashCode(StringComparison.Ordinal) & int.MaxValue) % _keyLocks.Length];

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Disk tier indexed {Entries} entries ({Bytes} bytes) in {Directory}")]
    private static partial void LogIndexed(ILogger logger, int entries, long bytes, string directory);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Disk entry {Path} dropped: {Problem}; it will be refetched")]
    private static partial void LogDropped(ILogger logger, string path, string problem);
}
