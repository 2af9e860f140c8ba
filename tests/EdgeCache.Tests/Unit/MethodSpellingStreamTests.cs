using System.Text;
using EdgeCache.Origins;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// The pass-through connections' wrapper that writes a method token as the viewer spelled it (RFC 9110 9.1), where .NET's
/// client writes the canonical spelling: only the request line of a marked request changes, once per connection.
/// </summary>
public sealed class MethodSpellingStreamTests
{
    [Fact]
    public async Task The_request_line_of_a_marked_request_gets_the_viewers_spelling_and_its_body_stays_as_sent()
    {
        var wire = new MemoryStream();
        await using var stream = new MethodSpellingStream(wire);

        MethodSpellingStream.Expect("get");
        await stream.WriteAsync("GET /a HTTP/1.1\r\nHost: o\r\n\r\n"u8.ToArray());
        await stream.WriteAsync("GET /b HTTP/1.1"u8.ToArray());

        Assert.Equal("get /a HTTP/1.1\r\nHost: o\r\n\r\nGET /b HTTP/1.1", Encoding.ASCII.GetString(wire.ToArray()));
    }

    [Fact]
    public async Task A_retry_on_another_connection_is_respelled_there_too()
    {
        var first = new MemoryStream();
        var second = new MemoryStream();
        await using var a = new MethodSpellingStream(first);
        await using var b = new MethodSpellingStream(second);

        MethodSpellingStream.Expect("dElete");
        await a.WriteAsync("DELETE /x HTTP/1.1\r\n\r\n"u8.ToArray());
        b.Write("DELETE /x HTTP/1.1\r\n\r\n"u8);

        Assert.Equal("dElete /x HTTP/1.1\r\n\r\n", Encoding.ASCII.GetString(first.ToArray()));
        Assert.Equal("dElete /x HTTP/1.1\r\n\r\n", Encoding.ASCII.GetString(second.ToArray()));
    }

    [Theory]
    [InlineData("GET /a HTTP/1.1\r\n\r\n", null)]
    [InlineData("GET /a HTTP/1.1\r\n\r\n", "post")]
    [InlineData("GETX /a HTTP/1.1\r\n\r\n", "get")]
    [InlineData("GET", "get")]
    public async Task Anything_else_is_written_unchanged(string written, string? expected)
    {
        var wire = new MemoryStream();
        await using var stream = new MethodSpellingStream(wire);
        if (expected is not null)
        {
            MethodSpellingStream.Expect(expected);
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes(written));

        Assert.Equal(written, Encoding.ASCII.GetString(wire.ToArray()));
    }
}
