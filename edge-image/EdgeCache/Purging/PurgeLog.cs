namespace EdgeCache.Purging;

/// <summary>
/// Recent purges by generation, so a fetch that started before a purge does not store what it got if the purge
/// covers it. Bounded: a fetch older than every remembered purge is conservatively not stored.
/// </summary>
public sealed class PurgeLog
{
    private const int Capacity = 4096;

    private readonly Lock _lock = new();
    private readonly Queue<(long Generation, PurgeMatcher Matcher)> _recent = new();
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
                _oldestRemembered = _recent.Dequeue().Generation + 1;
            }

            return generation;
        }
    }

    /// <summary>True when a purge after <paramref name="startedAt"/> covers <paramref name="path"/>.</summary>
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
