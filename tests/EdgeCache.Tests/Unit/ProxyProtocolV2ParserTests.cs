using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Text;
using EdgeCache.ProxyProtocol;
using EdgeCache.Tests.Infrastructure;

namespace EdgeCache.Tests.Unit;

/// <summary>The PROXY protocol v2 parser against haproxy's doc/proxy-protocol.txt, section 2.2.</summary>
public sealed class ProxyProtocolV2ParserTests
{
    [Fact]
    public void A_tcp_over_ipv4_header_gives_the_viewer_and_the_listener()
    {
        var header = ProxyHeader.Tcp4("203.0.113.7", 51234, "10.0.0.5", 443);
        var result = Parse([.. header, .. "GET / HTTP/1.1\r\n"u8.ToArray()]);

        Assert.Equal(ProxyProtocolParseStatus.Complete, result.Status);
        Assert.Equal(28, result.Length);
        Assert.False(result.Header!.IsLocal);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.7"), 51234), result.Header.Source);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 443), result.Header.Destination);
    }

    [Fact]
    public void A_tcp_over_ipv6_header_gives_the_viewer()
    {
        var header = ProxyHeader.Tcp6("2001:db8::7", 40000, "2001:db8::1", 443);
        var result = Parse(header);

        Assert.Equal(ProxyProtocolParseStatus.Complete, result.Status);
        Assert.Equal(16 + 36, result.Length);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::7"), 40000), result.Header!.Source);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 443), result.Header.Destination);
    }

    [Fact]
    public void A_local_command_keeps_the_connections_own_address_and_skips_whatever_block_it_has()
    {
        var empty = Parse(ProxyHeader.Build(0x20, 0x00, []));
        Assert.Equal(ProxyProtocolParseStatus.Complete, empty.Status);
        Assert.Equal(16, empty.Length);
        Assert.True(empty.Header!.IsLocal);
        Assert.Null(empty.Header.Source);

        // Receivers must not assume LOCAL carries no block (section 2.2): it is skipped by its length, family ignored.
        var withBlock = Parse(ProxyHeader.Build(0x20, 0x11, new byte[12]));
        Assert.Equal(ProxyProtocolParseStatus.Complete, withBlock.Status);
        Assert.Equal(28, withBlock.Length);
        Assert.True(withBlock.Header!.IsLocal);
        Assert.Null(withBlock.Header.Source);
    }

    [Theory]
    [InlineData(0x00)] // UNSPEC
    [InlineData(0x12)] // UDP over IPv4
    [InlineData(0x31)] // UNIX stream
    public void Other_valid_families_fall_back_to_the_connections_own_address(byte familyAndProtocol)
    {
        var addressBytes = familyAndProtocol switch { 0x12 => 12, 0x31 => 216, _ => 0 };
        var result = Parse(ProxyHeader.Build(0x21, familyAndProtocol, new byte[addressBytes]));

        Assert.Equal(ProxyProtocolParseStatus.Complete, result.Status);
        Assert.False(result.Header!.IsLocal);
        Assert.Null(result.Header.Source);
    }

    [Fact]
    public void Tlvs_are_skipped_and_counted_in_the_length()
    {
        // PP2_TYPE_NOOP, and the NLB's own PP2_TYPE_AWS (0xEA) with the VPC endpoint id subtype (0x01).
        var header = ProxyHeader.Tcp4("198.51.100.9", 1234, "10.0.0.5", 443, (0x04, [0, 0, 0]), (0xEA, [0x01, .. "vpce-08d2bf15fac5001c9"u8.ToArray()]));
        var result = Parse([.. header, .. "GET"u8.ToArray()]);

        Assert.Equal(ProxyProtocolParseStatus.Complete, result.Status);
        Assert.Equal(header.Length, result.Length);
        Assert.Equal(IPAddress.Parse("198.51.100.9"), result.Header!.Source!.Address);
    }

    [Fact]
    public void A_matching_crc32c_is_accepted_and_a_wrong_one_rejected()
    {
        var good = ProxyHeader.Tcp4("203.0.113.7", 1, "10.0.0.5", 443, ProxyHeader.Crc32CPlaceholder);
        ProxyHeader.SealCrc32C(good);
        Assert.Equal(ProxyProtocolParseStatus.Complete, Parse(good).Status);

        var bad = (byte[])good.Clone();
        bad[17] ^= 0x01; // one bit of the source address
        Assert.Equal("crc32c", Parse(bad).Error);

        var wrongSize = ProxyHeader.Tcp4("203.0.113.7", 1, "10.0.0.5", 443, (0x03, [1, 2, 3]));
        Assert.Equal("crc32c", Parse(wrongSize).Error);
    }

    [Fact]
    public void The_crc32c_is_the_castagnoli_checksum()
    {
        // RFC 3720 B.4 / the usual check value of CRC-32C.
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    [Fact]
    public void Every_prefix_of_a_valid_header_is_incomplete_not_invalid()
    {
        var header = ProxyHeader.Tcp4("203.0.113.7", 51234, "10.0.0.5", 443, (0x04, [1, 2]));
        for (var length = 0; length < header.Length; length++)
        {
            Assert.Equal(ProxyProtocolParseStatus.Incomplete, Parse(header[..length]).Status);
        }
    }

    [Fact]
    public void A_header_split_across_buffer_segments_parses_as_one()
    {
        var header = ProxyHeader.Tcp6("2001:db8::7", 40000, "2001:db8::1", 443, (0x04, new byte[600]));
        var rest = "GET / HTTP/1.1\r\n"u8.ToArray();
        byte[] all = [.. header, .. rest];
        var sequence = Segments(all, 1, 13, 15, 16, 40, 500);

        var result = ProxyProtocolV2Parser.Parse(sequence);
        Assert.Equal(ProxyProtocolParseStatus.Complete, result.Status);
        Assert.Equal(header.Length, result.Length);
        Assert.Equal(40000, result.Header!.Source!.Port);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "signature")]
    [InlineData("G", "signature")]
    [InlineData("PROXY TCP4 203.0.113.7 10.0.0.5 51234 443\r\n", "v1")]
    [InlineData("PRO", "v1")]
    public void Anything_but_a_v2_signature_is_rejected_at_once(string start, string error)
    {
        var result = Parse(Encoding.ASCII.GetBytes(start));
        Assert.Equal(ProxyProtocolParseStatus.Invalid, result.Status);
        Assert.Equal(error, result.Error);
    }

    [Theory]
    [InlineData(0x11, 0x11, "version")] // version 1 in the binary form
    [InlineData(0x31, 0x11, "version")]
    [InlineData(0x22, 0x11, "command")]
    [InlineData(0x2F, 0x11, "command")]
    [InlineData(0x21, 0x41, "family")]
    [InlineData(0x21, 0x13, "protocol")]
    public void A_bad_version_command_family_or_protocol_is_rejected_from_the_fixed_part_alone(byte versionAndCommand, byte familyAndProtocol, string error)
    {
        var header = ProxyHeader.Build(versionAndCommand, familyAndProtocol, new byte[12]);
        Assert.Equal(error, Parse(header[..16]).Error);
        Assert.Equal(error, Parse(header[..14]).Error);
    }

    [Theory]
    [InlineData(0x11, 8)] // TCP over IPv4 needs 12
    [InlineData(0x21, 35)] // TCP over IPv6 needs 36
    [InlineData(0x31, 100)] // UNIX needs 216
    public void An_address_block_shorter_than_its_family_needs_is_rejected(byte familyAndProtocol, int blockBytes)
    {
        Assert.Equal("address_length", Parse(ProxyHeader.Build(0x21, familyAndProtocol, new byte[blockBytes])).Error);
    }

    [Theory]
    [InlineData(new byte[] { 0x04 })] // a TLV cut after its type
    [InlineData(new byte[] { 0x04, 0x00 })] // ... and after one length byte
    [InlineData(new byte[] { 0x04, 0x00, 0x05, 1, 2 })] // a value longer than what is left
    [InlineData(new byte[] { 0x04, 0x00, 0x00, 0x20 })] // a stray byte after the last TLV
    public void Tlvs_that_do_not_fill_the_header_exactly_are_rejected(byte[] tlvBytes)
    {
        var header = ProxyHeader.Build(0x21, 0x11, [.. ProxyHeader.Tcp4Block("203.0.113.7", 1, "10.0.0.5", 443), .. tlvBytes]);
        Assert.Equal("tlv", Parse(header).Error);
    }

    [Fact]
    public void A_header_longer_than_the_limit_is_rejected_before_its_bytes_arrive()
    {
        var fixedPart = ProxyHeader.Build(0x21, 0x11, new byte[12])[..16];
        BinaryPrimitives.WriteUInt16BigEndian(fixedPart.AsSpan(14), ProxyProtocolV2Parser.MaxHeaderBytes - 16 + 1);
        Assert.Equal("too_long", Parse(fixedPart).Error);

        BinaryPrimitives.WriteUInt16BigEndian(fixedPart.AsSpan(14), ProxyProtocolV2Parser.MaxHeaderBytes - 16);
        Assert.Equal(ProxyProtocolParseStatus.Incomplete, Parse(fixedPart).Status);
    }

    private static ProxyProtocolParseResult Parse(byte[] bytes) => ProxyProtocolV2Parser.Parse(new ReadOnlySequence<byte>(bytes));

    /// <summary>A sequence of several segments, cut at <paramref name="cuts"/>, as a pipe hands over what several reads brought.</summary>
    private static ReadOnlySequence<byte> Segments(byte[] bytes, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < bytes.Length).Prepend(0).Append(bytes.Length).Distinct().Order().ToArray();
        Segment? first = null, last = null;
        for (var i = 0; i < bounds.Length - 1; i++)
        {
            var segment = new Segment(bytes.AsMemory(bounds[i], bounds[i + 1] - bounds[i]), bounds[i]);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }

            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
