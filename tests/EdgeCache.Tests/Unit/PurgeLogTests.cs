using EdgeCache.Purging;

namespace EdgeCache.Tests.Unit;

/// <summary>What a fetch that started at some generation may still store after purges and invalidations.</summary>
public sealed class PurgeLogTests
{
    [Fact]
    public void An_invalidation_covers_only_its_own_path_and_only_fetches_that_started_before_it()
    {
        var log = new PurgeLog();
        var before = log.Generation;
        log.RecordInvalidation("/items");
        var after = log.Generation;

        Assert.True(log.PurgedSince(before, "/items"));
        Assert.False(log.PurgedSince(before, "/items/2"));
        Assert.False(log.PurgedSince(after, "/items"));
    }

    [Fact]
    public void When_too_many_invalidations_are_remembered_older_fetches_are_conservatively_not_stored()
    {
        var log = new PurgeLog();
        var old = log.Generation;
        for (var i = 0; i < 65536; i++)
        {
            log.RecordInvalidation("/p" + i);
        }

        Assert.False(log.PurgedSince(old, "/other"));
        var recent = log.Generation;
        log.RecordInvalidation("/one-too-many");

        Assert.True(log.PurgedSince(old, "/other"));
        Assert.False(log.PurgedSince(recent + 1, "/other"));
        Assert.True(log.PurgedSince(recent, "/one-too-many"));
    }

    [Fact]
    public void A_purge_rolling_out_of_the_queue_does_not_lower_the_invalidation_floor()
    {
        var log = new PurgeLog();
        var purge = PurgeMatcher.TryCreate(new PurgeRequest { Paths = ["/purged"] }, out _)!;
        for (var i = 0; i < 4096; i++)
        {
            log.Record(purge);
        }

        for (var i = 0; i < 65537; i++)
        {
            log.RecordInvalidation("/p" + i);
        }

        var beforeFloor = log.Generation - 2;
        log.Record(purge); // the queue drops its oldest purge, from long before the floor

        Assert.True(log.PurgedSince(beforeFloor, "/unrelated"));
    }
}
