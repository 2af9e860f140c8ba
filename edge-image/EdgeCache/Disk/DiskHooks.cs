using Microsoft.Win32.SafeHandles;

namespace EdgeCache.Disk;

/// <summary>The disk tier's test hooks (<see cref="DiskCacheStore.FaultHook"/>, <see cref="DiskCacheStore.BodyFileOpened"/>), shared by its parts.</summary>
internal sealed class DiskHooks
{
    public Action<string>? Fault { get; set; }

    public Action<SafeFileHandle>? BodyFileOpened { get; set; }
}
