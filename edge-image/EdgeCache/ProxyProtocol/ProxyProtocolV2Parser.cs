using System.Buffers;
using System.Buffers.Binary;
using System.Net;

namespace EdgeCache.ProxyProtocol;

/// <summary>
/// Parses the binary PROXY protocol header, version 2 (haproxy's doc/proxy-protocol.txt, section 2.2), which an AWS
/// NLB sends at the start of every connection to a target group with proxy protocol v2 on. Hand-written: ASP.NET Core
/// has no parser, and the format is small and fixed. Version 1 (the text form) is refused: the node sits behind an NLB,
/// which sends v2 only, and a receiver must not guess (section 2) which one to expect.
/// </summary>
public static class ProxyProtocolV2Parser
{
    /// <summary>The fixed part: signature (12), version and command, family and protocol, length (2).</summary>
    public const int FixedBytes = 16;

    /// <summary>
    /// The longest header accepted, TLVs included. An NLB sends the addresses and a few dozen bytes of TLVs (its
    /// PP2_TYPE_AWS with a VPC endpoint id); the field allows 64 KiB, which a viewer port has no reason to buffer.
    /// </summary>
    public const int MaxHeaderBytes = 4096;

    private const byte TypeCrc32C = 0x03;

    private static ReadOnlySpan<byte> Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static ReadOnlySpan<byte> Version1Start => "PROXY"u8;

    /// <summary>Parses the header at the start of <paramref name="buffer"/>, rejecting as soon as the bytes so far cannot be one.</summary>
    public static ProxyProtocolParseResult Parse(ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[FixedBytes];
        var available = (int)Math.Min(buffer.Length, FixedBytes);
        buffer.Slice(0, available).CopyTo(start);
        start = start[..available];

        var signatureBytes = Math.Min(available, Signature.Length);
        if (!start[..signatureBytes].SequenceEqual(Signature[..signatureBytes]))
        {
            var v1Bytes = Math.Min(available, Version1Start.Length);
            return ProxyProtocolParseResult.Invalid(start[..v1Bytes].SequenceEqual(Version1Start[..v1Bytes]) ? "v1" : "signature");
        }

        if (available > 12)
        {
            if (start[12] >> 4 != 2)
            {
                return ProxyProtocolParseResult.Invalid("version");
            }

            if ((start[12] & 0x0F) > 1)
            {
                return ProxyProtocolParseResult.Invalid("command");
            }
        }

        if (available > 13)
        {
            if (start[13] >> 4 > 3)
            {
                return ProxyProtocolParseResult.Invalid("family");
            }

            if ((start[13] & 0x0F) > 2)
            {
                return ProxyProtocolParseResult.Invalid("protocol");
            }
        }

        if (available < FixedBytes)
        {
            return ProxyProtocolParseResult.Incomplete;
        }

        var length = FixedBytes + BinaryPrimitives.ReadUInt16BigEndian(start[14..]);
        if (length > MaxHeaderBytes)
        {
            return ProxyProtocolParseResult.Invalid("too_long");
        }

        if (buffer.Length < length)
        {
            return ProxyProtocolParseResult.Incomplete;
        }

        Span<byte> header = length <= 512 ? stackalloc byte[length] : new byte[length];
        buffer.Slice(0, length).CopyTo(header);
        return ParseWhole(header);
    }

    private static ProxyProtocolParseResult ParseWhole(Span<byte> header)
    {
        var local = (header[12] & 0x0F) == 0;
        if (local)
        {
            // Section 2.2: the receiver uses the connection's own endpoints and discards the block, family included.
            return new(ProxyProtocolParseStatus.Complete, header.Length, new ProxyProtocolHeader(true, null, null));
        }

        var family = header[13] >> 4;
        var protocol = header[13] & 0x0F;
        var addressBytes = family switch
        {
            1 => 12,
            2 => 36,
            3 => 216,
            _ => 0,
        };
        if (header.Length - FixedBytes < addressBytes)
        {
            return ProxyProtocolParseResult.Invalid("address_length");
        }

        if (ValidateTlvs(header, FixedBytes + addressBytes) is { } tlvError)
        {
            return ProxyProtocolParseResult.Invalid(tlvError);
        }

        IPEndPoint? source = null, destination = null;
        var addresses = header.Slice(FixedBytes, addressBytes);
        if (protocol == 1 && family == 1)
        {
            source = new IPEndPoint(new IPAddress(addresses[..4]), BinaryPrimitives.ReadUInt16BigEndian(addresses[8..]));
            destination = new IPEndPoint(new IPAddress(addresses[4..8]), BinaryPrimitives.ReadUInt16BigEndian(addresses[10..]));
        }
        else if (protocol == 1 && family == 2)
        {
            source = new IPEndPoint(new IPAddress(addresses[..16]), BinaryPrimitives.ReadUInt16BigEndian(addresses[32..]));
            destination = new IPEndPoint(new IPAddress(addresses[16..32]), BinaryPrimitives.ReadUInt16BigEndian(addresses[34..]));
        }

        // Any other valid family and protocol (UNSPEC, UDP, UNIX) falls back to the connection's own addresses, as
        // section 2.2 lets a receiver that does not support them do.
        return new(ProxyProtocolParseStatus.Complete, header.Length, new ProxyProtocolHeader(false, source, destination));
    }

    /// <summary>Walks the TLVs after the addresses: each must fit, they must fill the header, and a CRC32C must match.</summary>
    private static string? ValidateTlvs(Span<byte> header, int offset)
    {
        var crcOffset = -1;
        while (offset < header.Length)
        {
            if (header.Length - offset < 3)
            {
                return "tlv";
            }

            var type = header[offset];
            var valueLength = BinaryPrimitives.ReadUInt16BigEndian(header[(offset + 1)..]);
            var valueOffset = offset + 3;
            if (header.Length - valueOffset < valueLength)
            {
                return "tlv";
            }

            if (type == TypeCrc32C)
            {
                if (valueLength != 4 || crcOffset >= 0)
                {
                    return "crc32c";
                }

                crcOffset = valueOffset;
            }

            offset = valueOffset + valueLength;
        }

        if (crcOffset >= 0)
        {
            // Section 2.2.3: the checksum of the whole header with its own field zeroed.
            var expected = BinaryPrimitives.ReadUInt32BigEndian(header[crcOffset..]);
            header.Slice(crcOffset, 4).Clear();
            if (Crc32C.Compute(header) != expected)
            {
                return "crc32c";
            }
        }

        return null;
    }
}
