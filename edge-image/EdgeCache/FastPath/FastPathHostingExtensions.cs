using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using KestrelListenOptions = Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions;

namespace EdgeCache.FastPath;

/// <summary>Where the fast path plugs into the host: its services, and the viewer endpoint's connection middleware.</summary>
public static class FastPathHostingExtensions
{
    /// <summary>
    /// The parts <paramref name="fastPath"/> runs, registered after Kestrel's own services so that they are the ones
    /// Kestrel finds: the large-block pool.
    /// The mapped-body allocator and the send watchdog are always there; they do nothing unless a part uses them.
    /// </summary>
    public static IServiceCollection AddLinuxFastPath(this IServiceCollection services, LinuxFastPath fastPath)
    {
        services.AddSingleton(fastPath);
        if (fastPath.LargeBlocks)
        {
            // Kestrel and its socket transport take their pools from this service (.NET 10).
            services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        }

        services.AddSingleton<ViewerSendWatchdog>();
        services.AddSingleton<MappedBodyAllocator>();
        return services;
    }

    /// <summary>The viewer endpoint's part of the fast path: its socket writer, when <paramref name="fastPath"/> sends directly.</summary>
    public static KestrelListenOptions UseLinuxFastPath(this KestrelListenOptions listen, LinuxFastPath fastPath)
    {
        if (fastPath.DirectBodySend)
        {
            listen.UseViewerSocketWriter(fastPath.NotSentLowWaterBytes);
        }

        return listen;
    }
}
