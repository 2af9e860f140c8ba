using EdgeCache.InvalidationLog;

namespace EdgeCache.Invalidation;

/// <summary>
/// What this node has done with the invalidation log: the highest id handled (the cursor), the ids handled recently,
/// the last one applied, and the acks not yet written. Kept on the cache volume, so a restart neither misses nor
/// repeats an invalidation.
/// <para>
/// The guarantee: each listing starts <see cref="LookBack"/> before the cursor and skips the ids remembered here, so
/// every record in the log whose id sorts no more than <see cref="LookBack"/> before the highest id this node has
/// handled is applied, once. Writers give a new record an id after the head's latest, so a record sorts below one a
/// node has already handled only when two writers race or a writer's clock is behind and its head read is stale, by
/// seconds, well inside <see cref="LookBack"/>. Past <see cref="MaxRemembered"/> ids the oldest are forgotten and could
/// be applied a second time, which removes again only what they had already removed.
/// </para>
/// </summary>
public sealed class FollowerState
{
    public static readonly TimeSpan LookBack = TimeSpan.FromMinutes(15);

    public const int MaxRemembered = 10_000;

    public const int MaxPendingAcks = 1_000;

    private readonly SortedSet<string> _handled = new(StringComparer.Ordinal);
    private readonly List<PendingAck> _pendingAcks = [];

    /// <param name="followFrom">
    /// With nothing handled yet: when the oldest object this node could serve was stored. Records made before it (less
    /// <see cref="LookBack"/>, for writers' clocks) cannot remove anything here, so they are not listed.
    /// </param>
    public FollowerState(DateTimeOffset followFrom)
    {
        FollowFrom = followFrom.ToUniversalTime();
    }

    public DateTimeOffset FollowFrom { get; private set; }

    /// <summary>The highest id handled (applied, or skipped as malformed); null before the first.</summary>
    public string? Cursor { get; private set; }

    public string? LastAppliedId { get; private set; }

    /// <summary>When the node last read the log and had nothing left to apply.</summary>
    public DateTimeOffset? LastSyncedAt { get; set; }

    public IReadOnlyCollection<string> Handled => _handled;

    public IReadOnlyList<PendingAck> PendingAcks => _pendingAcks;

    /// <summary>Where the next listing starts (S3 StartAfter, relative to invalidations/).</summary>
    public string ListStartAfter => InvalidationId.Floor(CursorTime - LookBack);

    private DateTimeOffset CursorTime => Cursor is not null && InvalidationId.TryGetTime(Cursor, out var time) ? time : FollowFrom;

    public bool IsHandled(string id) => _handled.Contains(id);

    /// <summary>
    /// Records that <paramref name="id"/> was dealt with: <paramref name="applied"/>, or skipped (malformed) and never
    /// to be retried. An applied one waits in <see cref="PendingAcks"/> until its ack is written.
    /// </summary>
    public void MarkHandled(string id, bool applied, DateTimeOffset at, int removed = 0)
    {
        _handled.Add(id);
        if (InvalidationId.Compare(id, Cursor) > 0)
        {
            Cursor = id;
        }

        if (applied)
        {
            if (InvalidationId.Compare(id, LastAppliedId) > 0)
            {
                LastAppliedId = id;
            }

            _pendingAcks.Add(new PendingAck(id, removed, at));
            if (_pendingAcks.Count > MaxPendingAcks)
            {
                _pendingAcks.RemoveAt(0);
            }
        }

        // Ids below where listing starts are never listed again: nothing to remember them for.
        var floor = ListStartAfter;
        while (_handled.Count > 0 && (string.CompareOrdinal(_handled.Min, floor) < 0 || _handled.Count > MaxRemembered))
        {
            _handled.Remove(_handled.Min!);
        }
    }

    public void Acked(string id) => _pendingAcks.RemoveAll(ack => ack.Id == id);

    public FollowerStateDocument ToDocument() => new()
    {
        Version = FollowerStateDocument.CurrentVersion,
        FollowFrom = FollowFrom,
        Cursor = Cursor,
        LastAppliedId = LastAppliedId,
        LastSyncedAt = LastSyncedAt,
        Handled = [.. _handled],
        PendingAcks = [.. _pendingAcks],
    };

    /// <summary>The state a document describes, or null with a <paramref name="problem"/> when it cannot be trusted.</summary>
    public static FollowerState? FromDocument(FollowerStateDocument document, out string? problem)
    {
        problem = null;
        if (document.Version != FollowerStateDocument.CurrentVersion)
        {
            problem = $"version {document.Version} is not {FollowerStateDocument.CurrentVersion}";
            return null;
        }

        foreach (var id in document.Handled.Append(document.Cursor).Append(document.LastAppliedId).Concat(document.PendingAcks.Select(a => a.Id)))
        {
            if (id is not null && !InvalidationId.IsValid(id))
            {
                problem = $"'{id}' is not an invalidation id";
                return null;
            }
        }

        var state = new FollowerState(document.FollowFrom)
        {
            Cursor = document.Cursor,
            LastAppliedId = document.LastAppliedId,
            LastSyncedAt = document.LastSyncedAt,
        };
        foreach (var id in document.Handled)
        {
            state._handled.Add(id);
        }

        state._pendingAcks.AddRange(document.PendingAcks.TakeLast(MaxPendingAcks));
        return state;
    }
}
