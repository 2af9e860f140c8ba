using System.Runtime.InteropServices;

namespace EdgeCache.FastPath;

/// <summary>
/// The few Linux calls .NET has no API for, used by the sendfile hit path (<see cref="MappedBodyMemory"/>,
/// <see cref="ViewerSocketWriter"/>): an anonymous in-memory file to hold a stored body, its mapping, and
/// <c>sendfile</c>/<c>send</c> on a viewer's (non-blocking) socket. glibc names; "libc" resolves to libc.so.6.
/// </summary>
internal static partial class Libc
{
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EPIPE = 32;
    public const int ECONNRESET = 104;

    public const uint MFD_CLOEXEC = 1;

    public const int PROT_READ = 1;
    public const int MAP_SHARED = 1;

    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_MORE = 0x8000;
    public const int MSG_NOSIGNAL = 0x4000;

    public const int TCP_NOTSENT_LOWAT = 25;

    public const int F_GETFL = 3;
    public const int O_NONBLOCK = 0x800;

    public const int RLIMIT_NOFILE = 7;

    [LibraryImport("libc", EntryPoint = "memfd_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MemfdCreate(string name, uint flags);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static unsafe partial nint Send(int socket, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "sendfile", SetLastError = true)]
    public static partial nint SendFile(int socket, int file, ref long offset, nuint count);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command);

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRlimit(int resource, out ResourceLimit limit);

    [StructLayout(LayoutKind.Sequential)]
    public struct ResourceLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
