using EdgeCache.Invalidation;
using EdgeCache.InvalidationLog;

namespace EdgeCache.Tests.Unit;

public sealed class FollowerStateTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 14, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Directory.CreateTempSubdirectory("follower-state-").FullName;

    [Fact]
    public async Task The_state_saved_on_the_cache_volume_is_loaded_as_it_was()
    {
        var state = new FollowerState(T0);
        var first = InvalidationId.Create(T0.AddSeconds(1));
        var malformed = InvalidationId.Create(T0.AddSeconds(2));
        var second = InvalidationId.Create(T0.AddSeconds(3));
        state.MarkHandled(first, applied: true, T0.AddSeconds(1), removed: 3);
        state.MarkHandled(malformed, applied: false, T0.AddSeconds(2));
        state.MarkHandled(second, applied: true, T0.AddSeconds(3), removed: 1);
        state.Acked(first);
        state.LastSyncedAt = T0.AddSeconds(4);
        var store = new FollowerStateStore(_directory);

        await store.SaveAsync(state, CancellationToken.None);
        var (loaded, problem) = await store.LoadAsync(CancellationToken.None);

        Assert.Null(problem);
        Assert.NotNull(loaded);
        Assert.Equal(second, loaded.Cursor);
        Assert.Equal(second, loaded.LastAppliedId);
        Assert.Equal(T0.AddSeconds(4), loaded.LastSyncedAt);
        Assert.Equal([first, malformed, second], loaded.Handled);
        Assert.Equal([new PendingAck(second, 1, T0.AddSeconds(3))], loaded.PendingAcks);
        Assert.Equal([FollowerStateStore.FileName], Directory.GetFiles(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Without_a_disk_tier_nothing_is_saved()
    {
        var store = new FollowerStateStore(null);
        await store.SaveAsync(new FollowerState(T0), CancellationToken.None);
        Assert.Equal((null, null), await store.LoadAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("{ torn")]
    [InlineData("{\"version\":99}")]
    [InlineData("{\"version\":1,\"handled\":[\"../x\"]}")]
    public async Task An_unreadable_state_is_reported_not_trusted(string content)
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, FollowerStateStore.FileName), content);

        var (state, problem) = await new FollowerStateStore(_directory).LoadAsync(CancellationToken.None);

        Assert.Null(state);
        Assert.NotNull(problem);
    }

    [Fact]
    public void Listing_starts_a_look_back_window_before_the_highest_id_handled()
    {
        var state = new FollowerState(T0);
        Assert.Equal(InvalidationId.Floor(T0 - FollowerState.LookBack), state.ListStartAfter);

        var applied = InvalidationId.Create(T0.AddMinutes(30));
        state.MarkHandled(applied, applied: true, T0.AddMinutes(30));

        // A record that sorts before it (a racing writer's) is still listed, and not taken as handled.
        var raced = InvalidationId.Create(T0.AddMinutes(28));
        Assert.Equal(InvalidationId.Floor(T0.AddMinutes(30) - FollowerState.LookBack), state.ListStartAfter);
        Assert.True(string.CompareOrdinal(raced, state.ListStartAfter) > 0);
        Assert.False(state.IsHandled(raced));
        Assert.True(state.IsHandled(applied));
    }

    [Fact]
    public void Handled_ids_are_forgotten_once_below_the_window_and_the_set_is_bounded()
    {
        var state = new FollowerState(T0);
        var old = InvalidationId.Create(T0);
        state.MarkHandled(old, applied: false, T0);
        var recent = InvalidationId.Create(T0.AddMinutes(20));
        state.MarkHandled(recent, applied: false, T0.AddMinutes(20));
        Assert.False(state.IsHandled(old));
        Assert.True(state.IsHandled(recent));

        var burst = Enumerable.Range(1, FollowerState.MaxRemembered + 10).Select(i => InvalidationId.Create(T0.AddMinutes(21).AddMilliseconds(i))).ToList();
        foreach (var id in burst)
        {
            state.MarkHandled(id, applied: false, T0.AddMinutes(21));
        }

        Assert.Equal(FollowerState.MaxRemembered, state.Handled.Count);
        Assert.True(state.IsHandled(burst[^1]));
        Assert.False(state.IsHandled(recent));
    }

    [Fact]
    public void Only_applied_records_wait_for_an_ack()
    {
        var state = new FollowerState(T0);
        var applied = InvalidationId.Create(T0.AddSeconds(1));
        state.MarkHandled(applied, applied: true, T0, removed: 2);
        state.MarkHandled(InvalidationId.Create(T0.AddSeconds(2)), applied: false, T0);

        Assert.Equal([new PendingAck(applied, 2, T0)], state.PendingAcks);
        Assert.Equal(applied, state.LastAppliedId);
        state.Acked(applied);
        Assert.Empty(state.PendingAcks);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
