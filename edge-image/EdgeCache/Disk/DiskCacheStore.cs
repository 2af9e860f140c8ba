using EdgeCache.Caching;
using EdgeCache.Configuration;
using EdgeCache.Observability;
using EdgeCache.Purging;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Disk;

/// <summary>
/// The persistent tier below memory: one file per variant (<see cref="DiskEntryFormat"/>), written through from the
/// memory tier in the background. A facade over its parts, each of which states the rules it keeps: the
/// <see cref="DiskIndex"/> (key locks, budget, FIFO), the <see cref="DiskEntryWriter"/> (queue, temp file, fsync,
/// rename), the <see cref="DiskEntryReader"/> (load and verify) and <see cref="LargeObjects"/> (bodies streamed through
/// files). A write error turns writes off for a while (<see cref="DiskTierStatus"/>); the node keeps serving from memory.
/// </summary>
public sealed class DiskCacheStore : IHostedService, IDisposable
{
    /// <summary>How long a large entry's whole-body check stands for the ranges served from it (<see cref="DiskEntryReader"/>).</summary>
    public static readonly TimeSpan RangeReadRecheckInterval = TimeSpan.FromHours(1);

    private readonly string? _directory;
    private readonly DiskOptions _options;
    private readonly DiskHooks _hooks = new();
    private readonly TrailerGates _gates = new();
    private readonly DiskIndex _index;
    private readonly DiskTierStatus _status;
    private readonly DiskEntryWriter? _writer;
    private readonly DiskEntryReader _reader;
    private readonly LargeObjects _large;

    public DiskCacheStore(IOptions<EdgeCacheOptions> options, PurgeLog purges, TimeProvider time, EdgeCacheMetrics metrics, ILogger<DiskCacheStore> logger)
    {
        _options = options.Value.Cache.Disk;
        _directory = _options.Directory;
        _index = new DiskIndex(options.Value.Cache.MaxVariantsPerUrl, _options.EntryLimit, purges, metrics, _hooks, logger);
        _status = new DiskTierStatus(_index, _options.RetryAfterErrorSeconds, time, metrics, logger);
        _writer = _directory is null ? null : new DiskEntryWriter(_directory, _options.MaxBytes, _index, _status, purges, _hooks, logger);
        _reader = new DiskEntryReader(_index, _gates, _status, options.Value.Cache.MaxObjectBytes, time, metrics, _hooks, logger);
        _large = new LargeObjects(_directory, _options.MaxBytes, _index, _gates, _status, purges, _hooks, time);
        metrics.DiskCapacityBytes.Set(_directory is null ? 0 : _options.MaxBytes);
    }

    public bool Enabled => _directory is not null;

    /// <summary>True while writes are suspended after an error.</summary>
    public bool Degraded => _status.Degraded;

    public long Bytes => _index.Bytes;

    public int Count => _index.Count;

    /// <summary>True when a response too large for memory can be streamed into the disk tier.</summary>
    public bool CanStoreLarge => _large.CanStore;

    /// <summary>
    /// Test hook: called at each step of a write ("open", "body", "trailer", "flush", "rename"). An IOException thrown here
    /// is handled like a real one; any other exception stands for the process dying at that point (nothing is cleaned up).
    /// Also called as "commit" when a write (queued or large) finds its key's lock taken and waits for it, and as
    /// "index" between reading a key's current record and swapping in the new one, so a test can hold one write there
    /// while another arrives.
    /// </summary>
    internal Action<string>? FaultHook
    {
        get => _hooks.Fault;
        set => _hooks.Fault = value;
    }

    /// <summary>
    /// Test hook: every descriptor the tier opens for a body that viewers read (a spill file, a large entry being written,
    /// an entry being loaded to serve), so a test can hold it and see that it is closed when its readers are done.
    /// </summary>
    internal Action<SafeFileHandle>? BodyFileOpened
    {
        get => _hooks.BodyFileOpened;
        set => _hooks.BodyFileOpened = value;
    }

    /// <summary>Where spill files go when there is no disk tier: the process's temp directory ($TMPDIR); tests point it at a small mount.</summary>
    internal string TempDirectory
    {
        get => _large.TempDirectory;
        set => _large.TempDirectory = value;
    }

    /// <summary>Indexes the directory (before the node takes traffic: the first hosted service), then starts the writer.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_directory is null)
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(_directory);
            await _index.LoadAsync(_directory, _options.MaxBytes, cancellationToken).ConfigureAwait(false);
            _status.Publish();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _status.Degrade("index", ex);
        }

        _writer!.Start();
    }

    /// <summary>
    /// Graceful shutdown: the writes already queued are finished within what is left of the host's grace period (none,
    /// when a response in flight used all of it); a write cut off by the exit leaves only a temp file, which start-up deletes.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken) => _writer?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>Queues <paramref name="entry"/> (complete, memory-sized) to be written; dropped if the queue is full or the tier is degraded.</summary>
    public void EnqueueWrite(CacheKey key, CacheEntry entry)
    {
        // File-backed (large) bodies are already on disk; rewriting one to refresh its headers would read it whole.
        if (_writer is not null && entry.Body.IsCompleted && !entry.Body.IsFileBacked && !Degraded)
        {
            _writer.Enqueue(key, entry);
        }
    }

    /// <summary>Writes queued so far; with <see cref="WritesHandled"/>, tells a test when the writer has caught up.</summary>
    internal long WritesQueued => _writer?.Queued ?? 0;

    /// <summary>Queued writes the writer has finished with: written, skipped (purged, degraded) or failed.</summary>
    internal long WritesHandled => _writer?.Handled ?? 0;

    /// <summary>URLs in the index; never more than <see cref="Count"/>, since a URL whose last variant goes leaves it.</summary>
    internal int IndexedUrls => _index.Urls;

    /// <summary>The Vary names of the variants indexed for <paramref name="key"/>, or null if it has none on disk.</summary>
    public string[]? VaryNamesOf(CacheKey key) => _index.TryGet(key.Primary, out var variants) ? variants.VaryNames : null;

    /// <summary>Reads the variant this request selects, verifying both checksums; null on a miss or a bad entry (which is deleted).</summary>
    public Task<CacheEntry?> LoadAsync(CacheKey key, IHeaderDictionary requestHeaders, CancellationToken cancellationToken) =>
        _directory is null ? Task.FromResult<CacheEntry?>(null) : _reader.LoadAsync(key, requestHeaders, cancellationToken);

    /// <summary>Opens a temp file for a large body that will stream in; <see cref="CommitLargeAsync"/> or <see cref="AbandonLarge"/> ends it.</summary>
    public LargeWrite BeginLarge(CacheKey key, string secondaryKey, long purgeGeneration) => _large.Begin(key, secondaryKey, purgeGeneration);

    /// <summary>Appends the trailer, fsyncs and renames: from here the large entry is on disk and indexed.</summary>
    public Task CommitLargeAsync(LargeWrite write, CacheEntry entry) => _large.CommitAsync(write, entry);

    /// <summary>A 304 refreshed a large (file-backed) entry: its trailer is rewritten in place (<see cref="LargeObjects.RefreshAsync"/>).</summary>
    public Task RefreshLargeAsync(CacheKey key, CacheEntry stale, CacheEntry refreshed, CancellationToken cancellationToken) =>
        _large.RefreshAsync(key, stale, refreshed, cancellationToken);

    /// <summary>Writing a large body failed on the disk: its temp file goes and the tier degrades.</summary>
    public void FailLarge(LargeWrite? write, Exception error) => _large.Fail(write, error);

    /// <summary>The large body failed or may not be stored: its temp file goes (open readers keep their handle).</summary>
    public static void AbandonLarge(LargeWrite write) => LargeObjects.Abandon(write);

    /// <summary>An unlinked file for a body that outgrew memory but will not be stored (<see cref="LargeObjects.OpenSpillFile"/>).</summary>
    public SafeFileHandle OpenSpillFile() => _large.OpenSpillFile();

    /// <summary>Removes every variant stored under <paramref name="key"/> (invalidation after an unsafe method); returns how many.</summary>
    public int Remove(CacheKey key)
    {
        if (_directory is null)
        {
            return 0;
        }

        var removed = _index.Remove(key.Primary);
        _status.Publish();
        return removed;
    }

    /// <summary>Removes every variant of the URLs whose path <paramref name="selected"/> selects (purges); returns how many.</summary>
    public int RemovePaths(Func<string, bool> selected)
    {
        var removed = _index.RemovePaths(selected);
        _status.Publish();
        return removed;
    }

    public void Dispose()
    {
        _writer?.Complete();
        _gates.Dispose();
    }
}
