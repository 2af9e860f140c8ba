using EdgeCache.Configuration;

namespace EdgeCache.FastPath;

/// <summary>
/// Which parts of the fast path (this folder's README) a node runs, decided once at start. The parts each have their
/// listen option; listen.fastPath (or <see cref="FastPathSwitch.Variable"/>) turns them all off at once, leaving
/// Kestrel's own socket transport, output and memory pool, as a node would run on any other OS or after a Kestrel
/// upgrade that broke a part.
/// </summary>
public sealed class LinuxFastPath
{
    private LinuxFastPath(bool enabled, ListenOptions listen)
    {
        Enabled = enabled;
        DirectBodySend = enabled && listen.DirectBodySend;
        MappedBodies = DirectBodySend && listen.SendFile && OperatingSystem.IsLinux();
        LargeBlocks = enabled;
        NotSentLowWaterBytes = listen.NotSentLowWaterBytes;
    }

    /// <summary>False when the switch is off: no part runs.</summary>
    public bool Enabled { get; }

    /// <summary>Viewer responses go out through a <see cref="ViewerSocketWriter"/> (listen.directBodySend), watched by <see cref="ViewerSendWatchdog"/>.</summary>
    public bool DirectBodySend { get; }

    /// <summary>Stored bodies move into in-memory files sent with <c>sendfile</c> (listen.sendFile; <see cref="MappedBodyAllocator"/>).</summary>
    public bool MappedBodies { get; }

    /// <summary>Kestrel's pipes take 64 KiB blocks (<see cref="LargeBlockMemoryPool"/>).</summary>
    public bool LargeBlocks { get; }

    /// <summary>listen.notSentLowWaterBytes, applied by the socket writer.</summary>
    public int NotSentLowWaterBytes { get; }

    /// <summary>The parts <paramref name="listen"/> asks for, none when its <see cref="ListenOptions.FastPath"/> is off.</summary>
    public static LinuxFastPath For(ListenOptions listen) => new(listen.FastPath, listen);
}
