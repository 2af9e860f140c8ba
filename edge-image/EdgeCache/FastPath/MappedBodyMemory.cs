using System.Buffers;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EdgeCache.FastPath;

/// <summary>
/// A stored body's memory held in an anonymous in-memory file (<c>memfd</c>) and mapped into the process: the body is
/// written into the file as it arrives from the origin, every reader reads it as memory, and a
/// hit can hand the file to the kernel with <c>sendfile</c>, which sends the pages themselves instead of copying them into the
/// socket first (<see cref="ViewerSocketWriter"/>). This is what nginx does with its cache files.
/// </summary>
/// <remarks>
/// <para>
/// Lifetime is the garbage collector's, as for a body in an array: the mapping and the file are released by their
/// handles' finalizers once nothing references this object (an entry, a reader's <see cref="Memory{T}"/>, a pin), so an
/// evicted body stays valid for whoever is still reading it. The bytes are never written again once the body is
/// complete, and the kernel holds its own reference to every page it is sending, so releasing the file while a send is
/// under way does not change what the viewer receives.
/// </para>
/// <para>
/// The pages count towards the process's resident memory (they are mapped and written), and the garbage collector is
/// told of them (<see cref="GC.AddMemoryPressure"/>) so that evicted bodies are collected as promptly as arrays would be.
/// </para>
/// </remarks>
public sealed class MappedBodyMemory : MemoryManager<byte>
{
    private const int PageSize = 4096;
    private const int KernelOverheadBytes = 2048;

    private readonly MappingHandle _mapping;
    private readonly int _length;

    private MappedBodyMemory(SafeFileHandle file, MappingHandle mapping, int length)
    {
        File = file;
        _mapping = mapping;
        _length = length;
        FilePath = "/proc/self/fd/" + file.DangerousGetHandle();
    }

    /// <summary>
    /// What the kernel holds for a body of <paramref name="length"/> bytes: whole pages, and the file, inode and mapping
    /// structures of its in-memory file (about 1.5 KiB, rounded up). The memory tier counts this, not the length.
    /// </summary>
    public static long FootprintOf(long length) => ((length + PageSize - 1) / PageSize * PageSize) + KernelOverheadBytes;

    /// <summary><see cref="FootprintOf"/> this body.</summary>
    public long Footprint => FootprintOf(_length);

    /// <summary>The in-memory file behind the mapping: bytes [0, length) are the body.</summary>
    public SafeFileHandle File { get; }

    /// <summary>
    /// A new, empty in-memory file with a mapping of <paramref name="length"/> bytes, or null (leaving nothing behind) when
    /// the system refuses: too many open files or mappings. The body's bytes go in with <see cref="Write"/>; until they
    /// have, the pages beyond the file's end must not be read (a read there faults the process).
    /// </summary>
    /// <remarks>
    /// The bytes go in with <c>write</c>, as nginx fills its cache files, and the mapping is made without populating it:
    /// a hit sends the file and never touches the mapping. Fresh pages cost 2.6 ms per MiB when a fetch receives into them
    /// where mapping pages is dear (a paravirtualised VM), and 1.5 ms when copied into a populated mapping, against
    /// 0.21 ms for <c>write</c> (docs/decisions/0033-cpu-of-the-cache-core.md, 0034-bodies-written-to-memory-files-as-they-arrive.md).
    /// </remarks>
    internal static MappedBodyMemory? TryCreate(int length, Action<long>? released = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var fd = Libc.MemfdCreate("edgecache-body", Libc.MFD_CLOEXEC);
        if (fd < 0)
        {
            return null;
        }

        var file = new SafeFileHandle(fd, ownsHandle: true);
        // Read-only: the bytes go in with write(), so a stored body cannot be changed through its memory; a stray write
        // faults instead of altering what later hits are sent.
        var address = Libc.Mmap(0, (nuint)length, Libc.PROT_READ, Libc.MAP_SHARED, fd, 0);
        if (address == -1)
        {
            file.Dispose();
            return null;
        }

        return new MappedBodyMemory(file, new MappingHandle(address, length, released), length);
    }

    /// <summary>
    /// Writes <paramref name="data"/> into the file at <paramref name="offset"/>; false when the kernel has no memory
    /// for the pages (the container's limit), and the caller keeps the body elsewhere.
    /// </summary>
    internal bool Write(ReadOnlySpan<byte> data, long offset)
    {
        if (offset + data.Length > _length)
        {
            throw new ArgumentOutOfRangeException(nameof(data), "the bytes run past the mapping");
        }

        try
        {
            RandomAccess.Write(File, data, offset);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // ENOMEM or ENOSPC for the pages; EBADF (which .NET reports as access denied) for a descriptor that went.
            return false;
        }
    }

    /// <summary>
    /// A path that opens the in-memory file again, for the one API that sends a file asynchronously and waits for the
    /// socket to take it (<see cref="System.Net.Sockets.SendPacketsElement"/>, which wants a path or a stream opened
    /// for asynchronous use, and opens the path for the length of one send). Valid while this object is reachable.
    /// Tests set it to a path that does not open, to see the writer fall back to the memory.
    /// </summary>
    public string FilePath { get; internal set; }

    public override unsafe Span<byte> GetSpan() => new((void*)_mapping.DangerousGetHandle(), _length);

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        // The reference keeps the mapping through the pin even if the last other reference to this object goes.
        var added = false;
        _mapping.DangerousAddRef(ref added);
        return new MemoryHandle((byte*)_mapping.DangerousGetHandle() + elementIndex, default, this);
    }

    public override void Unpin() => _mapping.DangerousRelease();

    /// <summary>Releases the mapping and the file now; only for a body nothing else can be reading (tests, failed set-up).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _mapping.Dispose();
            File.Dispose();
        }
    }

    /// <summary>The mapping: unmapped when released, which the runtime defers until the last pin is gone.</summary>
    private sealed class MappingHandle : SafeHandle
    {
        private readonly nuint _length;
        private readonly Action<long>? _released;

        public MappingHandle(nint address, int length, Action<long>? released)
            : base(invalidHandleValue: -1, ownsHandle: true)
        {
            _length = (nuint)length;
            _released = released;
            SetHandle(address);
            GC.AddMemoryPressure(length);
        }

        public override bool IsInvalid => handle == -1;

        protected override bool ReleaseHandle()
        {
            var unmapped = Libc.Munmap(handle, _length) == 0;
            GC.RemoveMemoryPressure((long)_length);
            _released?.Invoke(FootprintOf((long)_length));
            return unmapped;
        }
    }
}
