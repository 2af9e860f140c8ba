using System.Buffers;
using System.Text;

namespace EdgeCache.Origins;

/// <summary>
/// What the node keeps of an origin's header value, decided once where origin headers are read, so that everything
/// stored can be sent to every viewer. Field values are bytes (RFC 9110 5.5): the origin client reads them as Latin-1,
/// one char per byte, and the viewer listener writes them back as Latin-1, so obs-text (0x80-0xFF, e.g. a UTF-8 file
/// name) goes through unchanged, as nginx and Varnish relay it. A field line holding any other control character (CTL
/// but HTAB) is dropped whole rather than edited: with bytes taken out it would say something the origin did not, and
/// no viewer can rely on it anyway. NUL, CR and LF never get here: the client replaces a NUL with SP (as RFC 9110 5.5
/// allows) and ends a line at CR LF.
/// </summary>
public static class OriginHeaderValue
{
    // Printable ASCII and HTAB: the common case, checked vectorised before anything else.
    private static readonly SearchValues<char> Plain = SearchValues.Create("\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// The value to store and relay, or null to drop the field line. A char above 0xFF (only from an origin client
    /// that decoded bytes as UTF-8, as an SDK may) is turned back into its UTF-8 bytes, one char each.
    /// </summary>
    public static string? Servable(string value)
    {
        var at = value.AsSpan().IndexOfAnyExcept(Plain);
        if (at < 0)
        {
            return value;
        }

        var wide = false;
        foreach (var c in value.AsSpan(at))
        {
            if (c < 0x20 ? c != '\t' : c == 0x7F)
            {
                return null;
            }

            wide |= c > 0xFF;
        }

        return wide ? Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(value)) : value;
    }
}
