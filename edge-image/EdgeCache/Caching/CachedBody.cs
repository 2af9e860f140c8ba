using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using EdgeCache.FastPath;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Caching;

/// <summary>
/// A response body held in memory that one writer (the origin fetch) fills while any number of readers
/// (viewers) stream it from their own positions. Readers never wait for the whole object, and a slow reader
/// never slows the writer: each keeps its own position over shared, append-only segments.
/// Once complete the body is immutable and is what a cache hit serves.
/// A body is held in memory segments, or — for objects larger than the memory tier takes — in a file on the disk tier,
/// written and read with positional I/O on one handle, so it is never held whole in memory. A body of unknown length
/// starts in memory and moves to a file (<see cref="SpillToFile"/>) when it outgrows the memory tier's object limit.
/// A body of known length of 85,000 bytes or more is written into a <see cref="MappedBodyMemory"/> as it arrives, so
/// that hits can be sent with <c>sendfile</c>; every reader sees it as memory like any other segment.
/// </summary>
/// <remarks>
/// <para>
/// Who owns a body's file: everyone holding a reference, and the file is closed by whoever drops the last one, never
/// by the garbage collector. A spill file is unlinked when it is opened, so closing it also frees its space; a large
/// disk-tier entry stays on disk and only the descriptor goes. References are held by: the fetch that creates the body,
/// until it has published it to its viewers; the fetch's body pump, while it writes; each viewer that joined the fetch,
/// until its request ends; and the request that loaded a large entry from the disk tier, until it ends. A large body
/// is never kept by the memory tier (the disk tier opens its file again for each request), so the cache itself holds
/// none. A body in memory needs none of this (its arrays are the collector's), but is counted the same way, since a
/// body still arriving may move to a file.
/// </para>
/// <para>
/// A body that will not be stored is read from the origin only as fast as its fastest viewer takes it, plus a
/// read-ahead (<see cref="WaitForReadersAsync"/>), and given up once no viewer holds it; a body being stored is read
/// at the origin's pace whatever its viewers do, since the cache needs it whole.
/// </para>
/// </remarks>
public sealed class CachedBody
{
    private const int DefaultSegmentSize = 64 * 1024;

    private readonly Lock _lock = new();
    private readonly int _segmentSize;
    private Memory<byte>[] _segments;
    private int _segmentCount;
    private long _length;
    private bool _completed;
    private Exception? _fault;
    // Made only when a reader has to wait for more, and let go when signalled: most bodies are written before anyone
    // reads them, and a stored entry should not keep a spent signal alive for as long as it is cached.
    private TaskCompletionSource? _changed;

    // File mode: the handle is shared by the writer and every reader (RandomAccess is position-based, so they never
    // contend on a file position). It closes when the last reference goes (see the remarks above).
    // Set once, by the constructor or by the writer in SpillToFile; readers take it under the lock with the length.
    private SafeFileHandle? _file;

    // References (under the lock): the body starts with its creator's. Sealed once its file is closed, or once the
    // writer gave the body up: no reference can be taken after that.
    private int _references = 1;
    private bool _sealed;

    // The furthest position any reader has asked for (under the lock, only raised), and the writer's wait for it to
    // come within the read-ahead (WaitForReadersAsync) with the position that wakes it.
    private long _demand;
    private long _resumeAt;
    private TaskCompletionSource? _demandChanged;
    private readonly FileBodyCheck? _check;
    private byte[]? _scratch;
    private IncrementalHash? _hash;

    // Filling an in-memory file (writer only): the file the origin's bytes are written into (let go when the body is
    // finished or the file cannot take more), and the pooled buffer they are received in first (when it is finished).
    private MappedBodyMemory? _filling;
    private byte[]? _received;

    /// <param name="expectedLength">When the origin sent Content-Length, one segment of exactly that size is used, so a hit is one write.</param>
    /// <param name="mapped">
    /// Where a body of known length of <see cref="MappedBodyAllocator.MinimumBytes"/> or more is written as it arrives
    /// (listen.sendFile; none when it is off), so that hits can send it with <c>sendfile</c>; it stays in an array when
    /// the allocator declines.
    /// </param>
    public CachedBody(long? expectedLength = null, MappedBodyAllocator? mapped = null)
    {
        var known = expectedLength is > 0 and <= int.MaxValue / 2;
        _segmentSize = known ? (int)expectedLength!.Value : DefaultSegmentSize;
        // A body of known length is one segment: no room kept for more in an entry that may be cached for hours.
        _segments = new Memory<byte>[known ? 1 : 4];
        if (known && mapped?.TryCreate(_segmentSize) is { } file)
        {
            _filling = file;
            _segments[0] = file.Memory;
            _segmentCount = 1;
        }
    }

    private CachedBody(SafeFileHandle file, long completedLength, FileBodyCheck? check = null)
    {
        _segmentSize = DefaultSegmentSize;
        _segments = [];
        _file = file;
        _check = check;
        if (completedLength >= 0)
        {
            _length = completedLength;
            _completed = true;
        }
        else
        {
            _scratch = new byte[DefaultSegmentSize];
            _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
    }

    /// <summary>A body the fetch will write into <paramref name="file"/> (opened read/write) as the origin's bytes arrive.</summary>
    public static CachedBody ToFile(SafeFileHandle file) => new(file, -1);

    /// <summary>
    /// A complete body already on disk: bytes [0, <paramref name="length"/>) of <paramref name="file"/>. With a
    /// <paramref name="check"/>, every read of the whole body is checked as it streams.
    /// </summary>
    public static CachedBody FromFile(SafeFileHandle file, long length, FileBodyCheck? check = null) => new(file, length, check);

    /// <summary>
    /// Writer: moves a body still arriving from memory to <paramref name="file"/> (opened read/write, empty). The bytes
    /// received so far are written there first, then every later byte goes to the file and the memory segments are let go,
    /// so a response of unknown length is never held whole in memory. Readers part-way through keep reading by position:
    /// the bytes below the length they saw are the same in the segments they hold and in the file.
    /// </summary>
    public void SpillToFile(SafeFileHandle file)
    {
        if (_file is not null)
        {
            throw new InvalidOperationException("the body is already in a file");
        }

        Memory<byte>[] segments;
        int count;
        long length;
        lock (_lock)
        {
            segments = _segments;
            count = _segmentCount;
            length = _length;
        }

        // Only the writer appends, so the segments below `length` are stable while they are copied out.
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long written = 0;
        for (var i = 0; i < count && written < length; i++)
        {
            var chunk = segments[i].Span[..(int)Math.Min(segments[i].Length, length - written)];
            try
            {
                RandomAccess.Write(file, chunk, written);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                hash.Dispose();
                throw new BodyStoreException($"moving the body to a file failed at byte {written}: {ex.Message}", ex);
            }

            hash.AppendData(chunk);
            written += chunk.Length;
        }

        lock (_lock)
        {
            _hash = hash;
            _scratch = new byte[DefaultSegmentSize];
            // A new (empty) array rather than clearing the old one: a reader may still be indexing the old one.
            _segments = [];
            _segmentCount = 0;
            Volatile.Write(ref _file, file);
        }
    }

    public bool IsFileBacked => Volatile.Read(ref _file) is not null;

    /// <summary>SHA-256 of everything written to a file-backed body (valid once complete).</summary>
    public byte[] FileSha256()
    {
        lock (_lock)
        {
            return _hash?.GetCurrentHash() ?? throw new InvalidOperationException("not a body written to a file");
        }
    }

    public static CachedBody FromBytes(ReadOnlySpan<byte> data)
    {
        var body = new CachedBody(data.Length);
        if (!data.IsEmpty)
        {
            data.CopyTo(body.GetWriteMemory().Span);
            body.Advance(data.Length);
        }

        body.Complete();
        return body;
    }

    /// <summary>Bytes received so far.</summary>
    public long Length => Volatile.Read(ref _length);

    public bool IsCompleted => Volatile.Read(ref _completed);

    public bool IsFaulted => Volatile.Read(ref _fault) is not null;

    /// <summary>
    /// Bytes of memory held: whole segments, or, for a body in an in-memory file, what the kernel holds for that file.
    /// </summary>
    public long AllocatedBytes
    {
        get
        {
            lock (_lock)
            {
                if (_segmentCount == 1 && MemoryMarshal.TryGetMemoryManager<byte, MappedBodyMemory>(_segments[0], out _))
                {
                    return MappedBodyMemory.FootprintOf(_length);
                }

                long total = 0;
                for (var i = 0; i < _segmentCount; i++)
                {
                    total += _segments[i].Length;
                }

                return total;
            }
        }
    }

    /// <summary>Writer: free space to read the next origin bytes into. Call <see cref="Advance"/> with what was filled.</summary>
    public Memory<byte> GetWriteMemory()
    {
        if (_scratch is not null)
        {
            return _scratch;
        }

        if (_filling is not null)
        {
            var room = _segmentSize - (int)_length;
            if (room > 0)
            {
                _received ??= ArrayPool<byte>.Shared.Rent(DefaultSegmentSize);
                return _received.AsMemory(0, Math.Min(room, _received.Length));
            }

            // More than the Content-Length announced: kept as an array body would keep it, for the fetch to fail it.
            StopFilling();
        }

        lock (_lock)
        {
            var used = (int)(_length - ((long)(_segmentCount - 1) * _segmentSize));
            if (_segmentCount == 0 || used == _segmentSize)
            {
                if (_segmentCount == _segments.Length)
                {
                    Array.Resize(ref _segments, _segments.Length * 2);
                }

                _segments[_segmentCount++] = new byte[_segmentSize];
                used = 0;
            }

            return _segments[_segmentCount - 1][used..];
        }
    }

    public void Advance(int count)
    {
        if (count <= 0)
        {
            return;
        }

        if (_file is not null)
        {
            AppendToFile(_scratch.AsSpan(0, count));
            return;
        }

        if (_filling is not null && !_filling.Write(_received.AsSpan(0, count), _length))
        {
            // The container has no memory left for the file's pages: the body goes on in an array instead.
            StopFilling();
            _received.AsSpan(0, count).CopyTo(_segments[0].Span[(int)_length..]);
        }

        TaskCompletionSource? signal;
        lock (_lock)
        {
            _length += count;
            signal = TakeChange();
        }

        signal?.TrySetResult();
    }

    /// <summary>Writer: copy bytes in (used where the data is already in another buffer, e.g. from a compressor).</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (_file is not null)
        {
            AppendToFile(data);
            return;
        }

        while (!data.IsEmpty)
        {
            var target = GetWriteMemory().Span;
            var n = Math.Min(target.Length, data.Length);
            data[..n].CopyTo(target);
            Advance(n);
            data = data[n..];
        }
    }

    /// <summary>
    /// Writer: the body goes on in an array, with the bytes so far copied out of its in-memory file. Readers part-way
    /// through keep reading the file's mapping by position: the bytes below the length they saw are the same in both.
    /// </summary>
    private void StopFilling()
    {
        var array = new byte[_segmentSize];
        _filling!.Memory.Span[..(int)_length].CopyTo(array);
        lock (_lock)
        {
            // A new array, as in SpillToFile: a reader may be indexing the old one.
            _segments = [array];
        }

        _filling = null;
    }

    private void ReturnReceiveBuffer()
    {
        if (_received is { } buffer)
        {
            _received = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void AppendToFile(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        // Only the single writer appends, so _length is stable here; readers only read below the published length.
        try
        {
            RandomAccess.Write(_file!, data, Volatile.Read(ref _length));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new BodyStoreException($"writing the body to the disk tier failed at byte {Volatile.Read(ref _length)}: {ex.Message}", ex);
        }

        TaskCompletionSource? signal;
        lock (_lock)
        {
            _hash!.AppendData(data);
            _length += data.Length;
            signal = TakeChange();
        }

        signal?.TrySetResult();
    }

    /// <summary>
    /// Writer, after the last byte and before the body is stored: memory the body does not use is given back, so it is
    /// neither held nor counted against the memory tier — a trailing segment allocated for a read that found the end,
    /// and the unused tail of the last one (a compressed body of 2 KB in a 64 KB segment). A body left in one segment
    /// is then served as one write. Readers are unaffected: the bytes below the length stay where they are.
    /// </summary>
    public void TrimExcess()
    {
        lock (_lock)
        {
            if (_file is not null || _segmentCount == 0)
            {
                return;
            }

            var needed = (int)((_length + _segmentSize - 1) / _segmentSize);
            while (_segmentCount > needed)
            {
                _segments[--_segmentCount] = default;
            }

            if (_segmentCount > 0)
            {
                var last = _segments[_segmentCount - 1];
                var used = (int)(_length - ((long)(_segmentCount - 1) * _segmentSize));
                if (used < last.Length)
                {
                    // Replaced, not resized in place: a reader may be copying out of the old array right now.
                    _segments[_segmentCount - 1] = last.Span[..used].ToArray();
                }
            }
        }
    }

    public void Complete() => Finish(null);

    /// <summary>The fetch failed: readers that reach the end of what arrived get <paramref name="error"/>, never a silent end.</summary>
    public void Fail(Exception error) => Finish(error);

    private void Finish(Exception? error)
    {
        // Only the writer finishes a body, so no receive is under way.
        _filling = null;
        ReturnReceiveBuffer();
        TaskCompletionSource? signal;
        lock (_lock)
        {
            if (_completed || _fault is not null)
            {
                return;
            }

            if (error is null)
            {
                _completed = true;
            }
            else
            {
                _fault = error;
            }

            signal = TakeChange();
        }

        signal?.TrySetResult();
    }

    /// <summary>Waits until the body is complete or failed; true when complete.</summary>
    public async Task<bool> WaitForCompletionAsync(CancellationToken cancellationToken)
    {
        // A reader that needs the whole body before it can start: the writer must not wait for it.
        NoteDemand(long.MaxValue);
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_completed)
                {
                    return true;
                }

                if (_fault is not null)
                {
                    return false;
                }

                wait = NextChange();
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Under the lock: the task the writer's next change (bytes, completion or failure) completes.</summary>
    private Task NextChange() => (_changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Under the lock, by the writer at each change: the waiting readers' signal, to set outside it; the next wait makes a new one.</summary>
    private TaskCompletionSource? TakeChange()
    {
        var signal = _changed;
        _changed = null;
        return signal;
    }

    /// <summary>
    /// Streams bytes [start, end) to <paramref name="write"/> as they arrive. Throws <see cref="IncompleteBodyException"/>
    /// when the origin failed before <paramref name="end"/> was reached (or before completion when end is unbounded).
    /// </summary>
    public async ValueTask CopyToAsync(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, long start, long end, CancellationToken cancellationToken)
    {
        var position = start;
        while (true)
        {
            long available;
            bool completed;
            Exception? fault;
            Task? wait;
            SafeFileHandle? file;
            Memory<byte>[] segments;
            lock (_lock)
            {
                available = _length;
                completed = _completed;
                fault = _fault;
                file = _file;
                segments = _segments;
                // Only a reader with nothing left to send waits; one that has bytes sends them and looks again.
                wait = position >= available && position < end && !completed && fault is null ? NextChange() : null;
            }

            var limit = Math.Min(available, end);
            // Only a body still arriving has a writer that may be waiting for its readers.
            var tracked = !completed && fault is null;
            if (file is not null && position < limit)
            {
                // A stored body read whole is checked on the way (FileBodyCheck); a range of it cannot be.
                position = _check is not null && completed && position == 0 && limit == available
                    ? await _check.CopyAsync(file, limit, write, cancellationToken).ConfigureAwait(false)
                    : await CopyFromFileAsync(file, write, position, limit, tracked, cancellationToken).ConfigureAwait(false);
            }

            while (position < limit)
            {
                // The array taken with the length holds every segment below it, even if the body has since moved to a file.
                var segment = segments[position / _segmentSize];
                var offset = (int)(position % _segmentSize);
                var count = (int)Math.Min(segment.Length - offset, limit - position);
                await write(segment.Slice(offset, count), cancellationToken).ConfigureAwait(false);
                position += count;
                if (tracked)
                {
                    NoteSent(position, cancellationToken);
                }
            }

            if (position >= end || (completed && position >= available))
            {
                return;
            }

            if (fault is not null)
            {
                throw new IncompleteBodyException("The origin response ended before the body was complete.", fault);
            }

            if (wait is not null)
            {
                NoteDemand(position);
                await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<long> CopyFromFileAsync(SafeFileHandle file, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> write, long position, long limit, bool tracked, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(DefaultSegmentSize);
        try
        {
            while (position < limit)
            {
                var want = (int)Math.Min(buffer.Length, limit - position);
                int read;
                try
                {
                    read = await RandomAccess.ReadAsync(file, buffer.AsMemory(0, want), position, cancellationToken).ConfigureAwait(false);
                }
                catch (ObjectDisposedException ex)
                {
                    // The disk tier closed the file of a body whose write failed (or a reader read without a reference).
                    throw new IncompleteBodyException("the body's file was closed", ex);
                }

                if (read == 0)
                {
                    throw new IncompleteBodyException("the cached file is shorter than recorded");
                }

                await write(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                position += read;
                if (tracked)
                {
                    NoteSent(position, cancellationToken);
                }
            }

            return position;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Takes a reference (see the remarks on this type) for someone who will read the body; false once the body's file has
    /// been closed or the writer gave the body up, when it cannot be read any more.
    /// </summary>
    internal bool TryAddReference() => TryAddReferences(1);

    /// <summary><see cref="TryAddReference"/>, <paramref name="count"/> times at once (a fetch's viewers when it publishes the body).</summary>
    internal bool TryAddReferences(int count)
    {
        lock (_lock)
        {
            if (_sealed)
            {
                return false;
            }

            _references += count;
            return true;
        }
    }

    /// <summary>Drops a reference; the last one closes the body's file (a body in memory has nothing to close).</summary>
    internal void ReleaseReference()
    {
        SafeFileHandle? close = null;
        TaskCompletionSource? writer = null;
        lock (_lock)
        {
            Debug.Assert(_references > 0, "a body reference was released twice");
            if (--_references == 0 && _file is not null)
            {
                _sealed = true;
                close = _file;
            }

            if (_references <= 1)
            {
                // A writer waiting for readers may now be the only one left: it looks again, and gives the body up.
                writer = _demandChanged;
                _demandChanged = null;
            }
        }

        writer?.TrySetResult();
        close?.Dispose();
    }

    /// <summary>
    /// Writer of a body that will not be stored, after each write: returns true at once while a reader needs bytes within
    /// <paramref name="readAhead"/> of what has arrived, otherwise waits until one catches up to half of it. Returns false
    /// when the writer's own is the only reference left: no viewer will read on and none can join (the body is sealed),
    /// so the writer should stop reading the origin and fail the body.
    /// </summary>
    public async ValueTask<bool> WaitForReadersAsync(long readAhead, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_references <= 1)
                {
                    _sealed = true;
                    return false;
                }

                if (_length - _demand < readAhead)
                {
                    return true;
                }

                // Half the read-ahead at a time, so a reader streaming steadily wakes the writer once per half, not per write.
                _resumeAt = _length - (readAhead / 2);
                wait = (_demandChanged ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reader of a body still arriving, after a write to its viewer. A viewer that has gone stops counting here: a server
    /// may drop writes to a closed connection without failing them, and the reader would race on through the body and
    /// make the writer pull it from the origin for nobody.
    /// </summary>
    private void NoteSent(long position, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        NoteDemand(position);
    }

    /// <summary>Reader: it has sent everything below <paramref name="position"/> and wants what follows.</summary>
    private void NoteDemand(long position)
    {
        if (position <= Volatile.Read(ref _demand))
        {
            return;
        }

        TaskCompletionSource? writer = null;
        lock (_lock)
        {
            if (position <= _demand)
            {
                return;
            }

            Volatile.Write(ref _demand, position);
            if (_demandChanged is not null && position >= _resumeAt)
            {
                writer = _demandChanged;
                _demandChanged = null;
            }
        }

        writer?.TrySetResult();
    }

    /// <summary>A completed in-memory body held in one segment (the usual hit): the bytes, for a single write.</summary>
    public bool TryGetSingleSegment(out ReadOnlyMemory<byte> data)
    {
        if (Volatile.Read(ref _completed) && Volatile.Read(ref _file) is null && _segmentCount <= 1)
        {
            data = _segmentCount == 0 ? ReadOnlyMemory<byte>.Empty : _segments[0][..(int)_length];
            return true;
        }

        data = default;
        return false;
    }

    /// <summary>Copies the whole (completed) body into one array; for tests and small bodies.</summary>
    public byte[] ToArray()
    {
        if (Volatile.Read(ref _file) is { } file)
        {
            var bytes = new byte[Length];
            RandomAccess.Read(file, bytes, 0);
            return bytes;
        }

        lock (_lock)
        {
            var result = new byte[_length];
            long copied = 0;
            for (var i = 0; i < _segmentCount && copied < _length; i++)
            {
                var n = (int)Math.Min(_segments[i].Length, _length - copied);
                _segments[i].Span[..n].CopyTo(result.AsSpan((int)copied));
                copied += n;
            }

            return result;
        }
    }
}
