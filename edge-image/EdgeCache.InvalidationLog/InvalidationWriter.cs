namespace EdgeCache.InvalidationLog;

/// <summary>
/// Adds an invalidation to the log: a new immutable record first, the head last. Two writers at once each write their
/// own record (unique ids, never overwritten), so neither hides the other; whichever head write lands last still
/// changes the head's ETag, and nodes then list every record they have not applied.
/// </summary>
public sealed class InvalidationWriter(ControlBucket bucket, TimeProvider time)
{
    public async Task<InvalidationRecord> WriteAsync(InvalidationTarget target, string? requestedBy, CancellationToken cancellationToken)
    {
        var before = await bucket.GetHeadAsync(null, cancellationToken).ConfigureAwait(false);
        InvalidationRecord? record = null;
        for (var attempt = 0; record is null; attempt++)
        {
            if (attempt == 3)
            {
                throw new InvalidOperationException("could not find a free invalidation id in three tries");
            }

            var now = time.GetUtcNow();
            var candidate = InvalidationRecord.Create(InvalidationId.Create(now, before.Head?.Latest), now, requestedBy, target);
            if (await bucket.PutRecordAsync(candidate, cancellationToken).ConfigureAwait(false))
            {
                record = candidate;
            }
        }

        // Read again just before writing: a writer that finished meanwhile with a later id keeps its id as latest.
        var current = await bucket.GetHeadAsync(null, cancellationToken).ConfigureAwait(false);
        var latest = current.Head?.Latest is { } other && InvalidationId.Compare(other, record.Id) > 0 ? other : record.Id;
        await bucket.PutHeadAsync(new LogHead { Latest = latest, Written = record.Id, UpdatedAt = time.GetUtcNow() }, cancellationToken).ConfigureAwait(false);
        return record;
    }
}
