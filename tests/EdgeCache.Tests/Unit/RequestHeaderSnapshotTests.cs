using EdgeCache.Caching;
using EdgeCache.Fetching;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>The fetch's copy of the leader's request headers answers as the HeaderDictionary copy it replaced did.</summary>
public sealed class RequestHeaderSnapshotTests
{
    [Fact]
    public void Lookups_ignore_case_empty_fields_count_as_absent_and_the_copy_outlives_the_source()
    {
        var source = new HeaderDictionary
        {
            ["Accept-Encoding"] = "gzip, br",
            ["X-Multi"] = new StringValues(["a", "b"]),
            ["Authorization"] = "",
        };
        var snapshot = new RequestHeaderSnapshot(source);
        source.Clear();

        Assert.Equal(2, snapshot.Count);
        Assert.Equal("gzip, br", snapshot["accept-encoding"]);
        Assert.Equal(new StringValues(["a", "b"]), snapshot["x-multi"]);
        Assert.False(snapshot.ContainsKey("Authorization"));
        Assert.Equal(StringValues.Empty, snapshot["Absent"]);
        Assert.Equal(CacheKeyBuilder.SecondaryKey(["accept-encoding", "x-multi"], snapshot), CacheKeyBuilder.SecondaryKey(["accept-encoding", "x-multi"], new HeaderDictionary { ["Accept-Encoding"] = "gzip, br", ["X-Multi"] = new StringValues(["a", "b"]) }));
        Assert.Throws<NotSupportedException>(() => snapshot["Accept-Encoding"] = "identity");
    }
}
