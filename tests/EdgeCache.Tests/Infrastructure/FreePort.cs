using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace EdgeCache.Tests.Infrastructure;

internal static class FreePort
{
    // Each probe's listener is closed before the caller binds, so the kernel may hand the same port to the next probe
    // (seen: a node given one port for viewer and admin). A port is handed out once per test run.
    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();

    /// <summary>A loopback port free right now (the edge node needs its ports before it starts, to tell admin from viewer).</summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            if (HandedOut.TryAdd(port, true))
            {
                return port;
            }
        }
    }
}
