using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Caching;

/// <summary>
/// Checks a stored file-backed body against its recorded SHA-256 while a viewer reads it whole, at the cost of hashing
/// each byte served (SHA-256 runs at gigabytes a second with the CPU's SHA extensions, about what one core sends).
/// Bytes already sent cannot be taken back, so the last block is held until the digest is known: on a mismatch it is
/// never sent, the viewer's transfer ends short of its Content-Length (an aborted connection, never a complete-looking
/// body), and the entry is dropped so the next request refetches it.
/// </summary>
/// <param name="expectedSha256">Hex SHA-256 of the whole body, as the disk tier recorded it.</param>
/// <param name="verified">Called when a whole read matched.</param>
/// <param name="mismatch">Called when a whole read did not match (before the reader fails).</param>
public sealed class FileBodyCheck(string expectedSha256, Action verified, Action mismatch)
{
    private const int BlockSize = 64 * 1024;

    /// <summary>Streams bytes [0, <paramref name="length"/>) of <paramref name="file"/> to <paramref name="write"/>, checked; returns <paramref name="length"/>.</summary>
    internal async ValueTask<long> CopyAsync(SafeFileHandle file, long length, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            for (long position = 0; position < length;)
            {
                var want = (int)Math.Min(BlockSize, length - position);
                int read;
                try
                {
                    read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, want), position, cancellationToken).ConfigureAwait(false);
                }
                catch (ObjectDisposedException ex)
                {
                    throw new IncompleteBodyException("the body's file was closed", ex);
                }

                if (read == 0)
                {
                    mismatch();
                    throw new IncompleteBodyException("the cached file is shorter than recorded");
                }

                hash.AppendData(buffer, 0, read);
                if (position + read == length
                    && !Convert.ToHexString(hash.GetHashAndReset()).Equals(expectedSha256, StringComparison.Ordinal))
                {
                    mismatch();
                    throw new IncompleteBodyException("the cached file does not match its checksum");
                }

                await write(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                position += read;
            }

            verified();
            return length;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
