using EdgeCache.InvalidationLog;

namespace EdgeCache.Tests.Unit;

public sealed class InvalidationIdTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 14, 3, 12, 123, TimeSpan.Zero);

    [Fact]
    public void Ids_sort_in_the_order_they_were_made()
    {
        var made = new[] { Now, Now.AddMilliseconds(1), Now.AddSeconds(1), Now.AddMinutes(59), Now.AddDays(40) }.Select(t => InvalidationId.Create(t)).ToList();

        Assert.Equal(made, made.Order(StringComparer.Ordinal));
        Assert.StartsWith("20261125T140312.123Z-", made[0]);
        Assert.Equal(InvalidationId.Length, made[0].Length);
    }

    [Fact]
    public void Ids_made_in_the_same_millisecond_differ()
    {
        var ids = Enumerable.Range(0, 2000).Select(_ => InvalidationId.Create(Now)).ToHashSet();

        Assert.Equal(2000, ids.Count);
    }

    [Fact]
    public void A_writer_whose_clock_is_behind_the_head_makes_an_id_that_sorts_after_it()
    {
        var latest = InvalidationId.Create(Now);

        var behind = InvalidationId.Create(Now - TimeSpan.FromMinutes(7), latest);
        var sameMillisecond = InvalidationId.Create(Now, latest);
        var ahead = InvalidationId.Create(Now.AddSeconds(5), latest);

        Assert.True(InvalidationId.Compare(behind, latest) > 0);
        Assert.True(InvalidationId.Compare(sameMillisecond, latest) > 0);
        Assert.True(InvalidationId.TryGetTime(behind, out var time));
        Assert.Equal(Now.AddMilliseconds(1), time);
        Assert.True(InvalidationId.TryGetTime(ahead, out var own));
        Assert.Equal(Now.AddSeconds(5), own);
    }

    [Fact]
    public void A_floor_sorts_before_every_id_made_at_or_after_its_time_and_after_earlier_ones()
    {
        var floor = InvalidationId.Floor(Now);

        Assert.True(string.CompareOrdinal(InvalidationId.Create(Now), floor) > 0);
        Assert.True(string.CompareOrdinal(InvalidationId.Create(Now.AddMilliseconds(1)), floor) > 0);
        Assert.True(string.CompareOrdinal(InvalidationId.Create(Now.AddMilliseconds(-1)), floor) < 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("20261125T140312.123Z")]
    [InlineData("20261125T140312.123Z-5F1C2A9B7E3D")]
    [InlineData("20261125T140312.123Z-5f1c2a9b7e3")]
    [InlineData("20261325T140312.123Z-5f1c2a9b7e3d")]
    [InlineData("20261125T140312.123Z_5f1c2a9b7e3d")]
    [InlineData("../../etc/passwd/x.json-5f1c2a9b7e3d")]
    public void Anything_else_is_not_an_id(string text) => Assert.False(InvalidationId.IsValid(text));
}
