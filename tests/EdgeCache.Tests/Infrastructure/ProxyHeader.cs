using System.Buffers.Binary;
using System.Net;
using EdgeCache.ProxyProtocol;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>Builds PROXY protocol v2 headers as a load balancer sends them (haproxy's doc/proxy-protocol.txt, 2.2).</summary>
public static class ProxyHeader
{
    public static readonly byte[] Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>A PP2_TYPE_CRC32C TLV with a zero value, for <see cref="SealCrc32C"/> to fill in.</summary>
    public static readonly (byte Type, byte[] Value) Crc32CPlaceholder = (0x03, [0, 0, 0, 0]);

    public static byte[] Build(byte versionAndCommand, byte familyAndProtocol, byte[] block)
    {
        var header = new byte[16 + block.Length];
        Signature.CopyTo(header, 0);
        header[12] = versionAndCommand;
        header[13] = familyAndProtocol;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), (ushort)block.Length);
        block.CopyTo(header, 16);
        return header;
    }

    public static byte[] Tcp4(string source, int sourcePort, string destination, int destinationPort, params (byte Type, byte[] Value)[] tlvs) =>
        Build(0x21, 0x11, [.. Tcp4Block(source, sourcePort, destination, destinationPort), .. Tlvs(tlvs)]);

    public static byte[] Tcp6(string source, int sourcePort, string destination, int destinationPort, params (byte Type, byte[] Value)[] tlvs)
    {
        var block = new byte[36];
        IPAddress.Parse(source).GetAddressBytes().CopyTo(block, 0);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(block, 16);
        BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(32), (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(34), (ushort)destinationPort);
        return Build(0x21, 0x21, [.. block, .. Tlvs(tlvs)]);
    }

    public static byte[] Tcp4Block(string source, int sourcePort, string destination, int destinationPort)
    {
        var block = new byte[12];
        IPAddress.Parse(source).GetAddressBytes().CopyTo(block, 0);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(block, 4);
        BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(8), (ushort)sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(10), (ushort)destinationPort);
        return block;
    }

    /// <summary>Fills the header's zeroed PP2_TYPE_CRC32C value with the checksum of the whole header (network order).</summary>
    public static void SealCrc32C(byte[] header)
    {
        var at = header.AsSpan().LastIndexOf((byte[])[0x03, 0x00, 0x04, 0, 0, 0, 0]) + 3;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(at), Crc32C.Compute(header));
    }

    private static byte[] Tlvs((byte Type, byte[] Value)[] tlvs)
    {
        var bytes = new List<byte>();
        foreach (var (type, value) in tlvs)
        {
            bytes.Add(type);
            bytes.Add((byte)(value.Length >> 8));
            bytes.Add((byte)value.Length);
            bytes.AddRange(value);
        }

        return [.. bytes];
    }
}
