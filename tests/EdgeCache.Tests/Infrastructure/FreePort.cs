using System.Net;
using System.Net.Sockets;

namespace EdgeCache.Tests.Infrastructure;

internal static class FreePort
{
    /// <summary>A loopback port free right now (the edge node needs its ports before it starts, to tell admin from viewer).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
