using System.Globalization;
using System.Text;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// What a raw viewer got: the status, the header block as bytes, the body (de-chunked), and whether the body arrived
/// whole (Content-Length reached, or the last chunk seen) rather than cut off by a close or reset.
/// </summary>
internal sealed record RawViewerResponse(int Status, byte[] Head, byte[] Body, bool Complete)
{
    /// <summary>The header block as Latin-1 text: one char per byte, so a test can look at any byte.</summary>
    public string HeadText => Encoding.Latin1.GetString(Head);

    public string BodyText => Encoding.Latin1.GetString(Body);

    /// <summary>The values of every <paramref name="name"/> line, as bytes read as Latin-1, or empty.</summary>
    public IReadOnlyList<string> Headers(string name) =>
        [.. HeadText.Split("\r\n").Skip(1)
            .Where(line => line.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
            .Select(line => line[(name.Length + 1)..].Trim(' ', '\t'))];

    /// <summary>The first value of <paramref name="name"/>, or null.</summary>
    public string? Header(string name) => Headers(name) is [var first, ..] ? first : null;

    /// <summary>The first value of <paramref name="name"/> as the bytes that were on the wire.</summary>
    public byte[]? HeaderBytes(string name) => Header(name) is { } value ? Encoding.Latin1.GetBytes(value) : null;

    public static RawViewerResponse Parse(byte[] data, bool reset, bool head)
    {
        var end = data.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return new RawViewerResponse(0, data, [], false);
        }

        var status = int.Parse(Encoding.ASCII.GetString(data, 9, 3), CultureInfo.InvariantCulture);
        var response = new RawViewerResponse(status, data[..end], [], false);
        var rest = data.AsSpan(end + 4);
        if (head || status is 204 or 304 || status < 200)
        {
            return response with { Complete = !reset };
        }

        if (response.Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
        {
            var body = new MemoryStream();
            while (true)
            {
                var lineEnd = rest.IndexOf("\r\n"u8);
                if (lineEnd < 0)
                {
                    return response with { Body = body.ToArray() };
                }

                var size = int.Parse(Encoding.ASCII.GetString(rest[..lineEnd]).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                rest = rest[(lineEnd + 2)..];
                if (size == 0)
                {
                    return response with { Body = body.ToArray(), Complete = true };
                }

                if (rest.Length < size + 2)
                {
                    body.Write(rest[..Math.Min(size, rest.Length)]);
                    return response with { Body = body.ToArray() };
                }

                body.Write(rest[..size]);
                rest = rest[(size + 2)..];
            }
        }

        if (response.Header("Content-Length") is { } length)
        {
            var expected = int.Parse(length, CultureInfo.InvariantCulture);
            return response with { Body = rest[..Math.Min(expected, rest.Length)].ToArray(), Complete = rest.Length >= expected };
        }

        // Delimited by the close: whole unless the connection was reset.
        return response with { Body = rest.ToArray(), Complete = !reset };
    }
}
