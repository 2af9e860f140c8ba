namespace EdgeCache.Purging;

/// <summary>
/// Recent purges and invalidations by generation, so a fetch (or a queued disk write) that started before one does not
/// store what it got if it is covered. Bounded: a fetch older than every remembered purge is conservatively not stored.
/// </summary>
public sealed class PurgeLog
{
    private const int Capacity = 4096;

    // Invalidations by unsafe methods are kept apart from purges: they can come at request rate, and one per path in a
    // dictionary lets far more be remembered than the purge queue, so a long fetch is not needlessly left unstored.
    private const int PathCapacity = 65536;

    private readonly Lock _lock = new();
    private readonly Queue<(long Generation, PurgeMatcher Matcher)> _recent = new();
    private readonly Dictionary<string, long> _invalidatedPaths = new(StringComparer.Ordinal);
    private long _generation;
    private long _oldestRemembered = 1;

    public long Generation => Interlocked.Read(ref _generation);

    public long Record(PurgeMatcher matcher)
    {
        lock (_lock)
        {
            var generation = Interlocked.Increment(ref _generation);
            _recent.Enqueue((generation, matcher));
            while (_recent.Count > Capacity)
            {
                _oldestRemembered = Math.Max(_oldestRemembered, _recent.Dequeue().Generation + 1);
            }

            return generation;
        }
    }

    /// <summary>
    /// A successful unsafe request invalidated <paramref name="path"/> (RFC 9111 4.4): a fetch for it already under way
    /// must not store the representation it got from before the change.
    /// </summary>
    public void RecordInvalidation(string path)
    {
        lock (_lock)
        {
            var generation = Interlocked.Increment(ref _generation);
            if (_invalidatedPaths.Count >= PathCapacity && !_invalidatedPaths.ContainsKey(path))
            {
                // Forget them all at once; every fetch older than this point is then treated as invalidated.
                _invalidatedPaths.Clear();
                _oldestRemembered = generation;
            }

            _invalidatedPaths[path] = generation;
        }
    }

    /// <summary>True when a purge or invalidation after <paramref name="startedAt"/> covers <paramref name="path"/>.</summary>
    public bool PurgedSince(long startedAt, string path)
    {
        if (startedAt == Generation)
        {
            return false;
        }

        lock (_lock)
        {
            if (startedAt + 1 < _oldestRemembered)
            {
                return true;
            }

            if (_invalidatedPaths.TryGetValue(path, out var invalidated) && invalidated > startedAt)
            {
                return true;
            }

            foreach (var (generation, matcher) in _recent)
            {
                if (generation > startedAt && matcher.Matches(path))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
