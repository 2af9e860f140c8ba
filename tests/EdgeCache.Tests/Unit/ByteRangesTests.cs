using EdgeCache.Proxy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Tests.Unit;

/// <summary>How a Range header resolves against a stored representation: what a 206 may carry, and when it is 200.</summary>
public sealed class ByteRangesTests
{
    private const long Length = 1024 * 1024;

    [Fact]
    public void Sixteen_open_ranges_from_zero_are_one_range_of_the_whole_representation()
    {
        var decision = Evaluate(string.Join(",", Enumerable.Repeat("0-", 16)), out var ranges);

        Assert.Equal(ByteRanges.Decision.Partial, decision);
        Assert.Equal([(0L, Length - 1)], ranges);
    }

    [Theory]
    [InlineData("bytes=0-99,50-149", "0-149")]
    [InlineData("bytes=0-99,100-199", "0-199")]
    [InlineData("bytes=100-199,0-99", "0-199")]
    [InlineData("bytes=0-499,100-199,-10", "0-499;1048566-1048575")]
    [InlineData("bytes=-10,0-9,1048570-", "1048566-1048575;0-9")]
    [InlineData("bytes=500-599,0-9,5-20,1000-1009", "500-599;0-20;1000-1009")]
    [InlineData("bytes=0-9,90-99", "0-99")]
    [InlineData("bytes=0-9,91-99", "0-9;91-99")]
    public void Overlapping_adjacent_and_nearly_adjacent_ranges_are_merged_in_the_order_they_were_asked_for(string header, string expected)
    {
        var decision = Evaluate(header, out var ranges);

        Assert.Equal(ByteRanges.Decision.Partial, decision);
        Assert.Equal(expected, string.Join(";", ranges.Select(r => $"{r.Start}-{r.End}")));
    }

    [Fact]
    public void Whatever_the_ranges_the_bytes_they_select_never_exceed_the_representation()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 500; trial++)
        {
            var specs = Enumerable.Range(0, random.Next(1, ByteRanges.MaxRanges + 1)).Select(_ =>
            {
                var start = random.NextInt64(0, Length + 100);
                return random.Next(3) switch
                {
                    0 => $"{start}-",
                    1 => $"-{random.NextInt64(1, Length * 2)}",
                    _ => $"{start}-{start + random.NextInt64(0, Length / 4)}",
                };
            });
            var header = "bytes=" + string.Join(",", specs);

            if (Evaluate(header, out var ranges) != ByteRanges.Decision.Partial)
            {
                continue;
            }

            Assert.True(ranges.Sum(r => r.End - r.Start + 1) <= Length, header);
            var sorted = ranges.OrderBy(r => r.Start).ToList();
            for (var i = 1; i < sorted.Count; i++)
            {
                Assert.True(sorted[i].Start > sorted[i - 1].End + ByteRanges.CoalesceGapBytes + 1, header);
            }
        }
    }

    [Fact]
    public void Many_small_ranges_far_apart_up_to_the_limit_are_parts_and_beyond_it_the_whole_representation()
    {
        string Spaced(int count) => "bytes=" + string.Join(",", Enumerable.Range(0, count).Select(i => $"{i * 1000}-{i * 1000}"));

        Assert.Equal(ByteRanges.Decision.Partial, Evaluate(Spaced(ByteRanges.MaxRanges), out var ranges));
        Assert.Equal(ByteRanges.MaxRanges, ranges.Count);
        Assert.Equal(ByteRanges.Decision.Full, Evaluate(Spaced(ByteRanges.MaxRanges + 1), out _));
    }

    [Fact]
    public void Many_tiny_ranges_close_together_are_one_part()
    {
        // 16 one-byte ranges a byte apart: one 31-byte part, not 16 parts of a byte behind ~100 bytes of headers each.
        var decision = Evaluate("bytes=" + string.Join(",", Enumerable.Range(0, 16).Select(i => $"{i * 2}-{i * 2}")), out var ranges);

        Assert.Equal(ByteRanges.Decision.Partial, decision);
        Assert.Equal([(0L, 30L)], ranges);
    }

    private static ByteRanges.Decision Evaluate(string range, out List<(long Start, long End)> ranges)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Headers.Range = range.StartsWith("bytes=", StringComparison.Ordinal) ? range : "bytes=" + range;
        return ByteRanges.Evaluate(context.Request, Length, StringValues.Empty, null, out ranges);
    }
}
