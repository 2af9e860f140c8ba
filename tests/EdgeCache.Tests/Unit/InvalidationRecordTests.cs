using System.Text;
using EdgeCache.InvalidationLog;

namespace EdgeCache.Tests.Unit;

public sealed class InvalidationRecordTests
{
    private const string Id = "20261125T140312.123Z-5f1c2a9b7e3d";

    [Fact]
    public void A_record_reads_back_as_it_was_written()
    {
        Assert.True(InvalidationTarget.TryCreate(["/a.js", "/img/b.png"], null, null, false, out var target, out _));
        var written = InvalidationRecord.Create(Id, new DateTimeOffset(2026, 11, 25, 14, 3, 12, TimeSpan.Zero), "alice@laptop", target);

        Assert.True(InvalidationRecord.TryParse(written.ToJson(), Id, out var read, out var error), error);

        Assert.Equal(Id, read.Id);
        Assert.Equal(written.CreatedAt, read.CreatedAt);
        Assert.Equal("alice@laptop", read.RequestedBy);
        Assert.Equal(["/a.js", "/img/b.png"], read.Target.Paths);
        Assert.Null(read.Target.Prefix);
        Assert.False(read.Target.All);
    }

    [Theory]
    [InlineData("\"prefix\":\"/img/\"", "prefix /img/")]
    [InlineData("\"pattern\":\"/img/*.png\"", "pattern /img/*.png")]
    [InlineData("\"all\":true", "all")]
    public void Each_kind_of_target_is_read(string field, string description)
    {
        Assert.True(InvalidationRecord.TryParse(Json(field), Id, out var record, out var error), error);
        Assert.Equal(description, record.Target.Description);
    }

    [Theory]
    [InlineData("{ not json", "not a valid record")]
    [InlineData("[]", "not a valid record")]
    [InlineData("null", "a JSON object is required")]
    public void Text_that_is_not_a_record_is_refused(string text, string expected)
    {
        Assert.False(InvalidationRecord.TryParse(Encoding.UTF8.GetBytes(text), Id, out var record, out var error));
        Assert.Null(record);
        Assert.Contains(expected, error);
    }

    [Theory]
    [InlineData("\"paths\":[\"/a\"],\"ttl\":5", "ttl")]
    [InlineData("\"paths\":[\"/a\"],\"prefix\":\"/b\"", "exactly one")]
    [InlineData("\"requestedBy\":\"x\"", "nothing to invalidate")]
    [InlineData("\"paths\":[]", "paths: must not be empty")]
    [InlineData("\"all\":false", "all: must be true")]
    [InlineData("\"paths\":[\"a.js\"]", "must start with '/'")]
    [InlineData("\"paths\":[\"/a\",\"\"]", "paths[1]")]
    [InlineData("\"paths\":\"/a\"", "not a valid record")]
    [InlineData("\"pattern\":\"img/*\"", "pattern")]
    public void A_record_with_an_unknown_field_or_a_bad_target_is_refused_whole(string fields, string expected)
    {
        Assert.False(InvalidationRecord.TryParse(Json(fields), Id, out var record, out var error));
        Assert.Null(record);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void A_record_whose_id_is_not_its_object_name_is_refused()
    {
        Assert.False(InvalidationRecord.TryParse(Json("\"all\":true"), "20261125T140312.124Z-5f1c2a9b7e3d", out _, out var error));
        Assert.Contains("differs from the object's name", error);
    }

    [Fact]
    public void A_record_without_its_created_time_is_refused()
    {
        var json = Encoding.UTF8.GetBytes($$"""{"id":"{{Id}}","all":true}""");
        Assert.False(InvalidationRecord.TryParse(json, Id, out _, out var error));
        Assert.Contains("createdAt", error);
    }

    [Fact]
    public void A_record_over_the_size_limit_is_refused()
    {
        var paths = string.Join(',', Enumerable.Range(0, 150_000).Select(i => $"\"/p{i}\""));
        Assert.False(InvalidationRecord.TryParse(Json($"\"paths\":[{paths}]"), Id, out _, out var error));
        Assert.Contains("over the limit", error);
    }

    private static byte[] Json(string fields) => Encoding.UTF8.GetBytes($$"""{"id":"{{Id}}","createdAt":"2026-11-25T14:03:12Z",{{fields}}}""");
}
