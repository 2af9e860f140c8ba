using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EdgeCache.Hosting;

/// <summary>
/// The Location of a redirect to https (listen.httpsRedirectPort): the viewer's host without its port (the https
/// listener is the load balancer's 443), then the request target as the viewer sent it. The Host is checked here, not
/// only by Kestrel, which accepts any reg-name (sub-delims and percent-encodings included): a Location carries only a
/// DNS name, an IPv4 address or a bracketed IPv6 address.
/// </summary>
public static class HttpsRedirectLocation
{
    private const int MaxHostNameLength = 253;
    private const int MaxLabelLength = 63;

    /// <param name="host">The request's Host (or absolute-form authority), as received.</param>
    /// <param name="target">The request target's path and query, percent-encoded as on the wire.</param>
    public static bool TryBuild(string? host, string target, out string location)
    {
        location = "";
        if (string.IsNullOrEmpty(host) || !TrySplitHost(host, out var name) || !target.StartsWith('/'))
        {
            return false;
        }

        location = "https://" + name + Escape(target);
        return true;
    }

    /// <summary>host[:port] → host, when host is a DNS name, an IPv4 address or [IPv6] and port is decimal (or empty).</summary>
    internal static bool TrySplitHost(string host, out string name)
    {
        name = "";
        string port;
        if (host[0] == '[')
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !IsIPv6Literal(host.AsSpan(1, close - 1)))
            {
                return false;
            }

            name = host[..(close + 1)];
            port = host[(close + 1)..];
        }
        else
        {
            var colon = host.IndexOf(':', StringComparison.Ordinal);
            name = colon < 0 ? host : host[..colon];
            port = colon < 0 ? "" : host[colon..];
            if (!IsHostName(name))
            {
                return false;
            }
        }

        return port.Length == 0 || (port[0] == ':' && IsPort(port.AsSpan(1)));
    }

    private static bool IsIPv6Literal(ReadOnlySpan<char> literal)
    {
        // Hex digits, colons and dots only (no zone id: a Location has no use for one), and a real IPv6 address.
        foreach (var c in literal)
        {
            if (!(char.IsAsciiHexDigit(c) || c is ':' or '.'))
            {
                return false;
            }
        }

        return IPAddress.TryParse(literal, out var address) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }

    /// <summary>DNS labels (letters, digits, '-', '_'; not starting or ending with '-'), one optional trailing dot; IPv4 fits.</summary>
    private static bool IsHostName(string name)
    {
        var span = name.EndsWith('.') ? name.AsSpan(0, name.Length - 1) : name.AsSpan();
        if (span.Length is 0 or > MaxHostNameLength)
        {
            return false;
        }

        foreach (var range in span.Split('.'))
        {
            var label = span[range];
            if (label.Length is 0 or > MaxLabelLength || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool IsPort(ReadOnlySpan<char> digits) =>
        digits.Length == 0 || (digits.Length <= 5 && !digits.ContainsAnyExceptInRange('0', '9') && int.Parse(digits, CultureInfo.InvariantCulture) <= 65535);

    /// <summary>Percent-encodes (as UTF-8) anything outside printable ASCII, so no byte Kestrel let through can break the header.</summary>
    private static string Escape(string target)
    {
        if (!target.AsSpan().ContainsAnyExceptInRange('!', '~'))
        {
            return target;
        }

        var escaped = new StringBuilder(target.Length + 16);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in target.EnumerateRunes())
        {
            if (rune.Value is >= '!' and <= '~')
            {
                escaped.Append((char)rune.Value);
                continue;
            }

            var length = rune.EncodeToUtf8(utf8);
            foreach (var b in utf8[..length])
            {
                escaped.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return escaped.ToString();
    }
}
