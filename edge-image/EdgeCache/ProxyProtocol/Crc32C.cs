using System.Numerics;

namespace EdgeCache.ProxyProtocol;

/// <summary>
/// CRC-32C (Castagnoli, RFC 4960 appendix B), for the PROXY header's PP2_TYPE_CRC32C. The runtime has the step
/// (BitOperations.Crc32C, the CPU's crc32 instruction where there is one) but not the whole checksum.
/// </summary>
internal static class Crc32C
{
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }
}
