using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace EdgeCache.Tests.Infrastructure;

internal static class FreePort
{
    private const int Lowest = 10000;

    // A port is handed out once per test run, and only from below the kernel's ephemeral range: a port taken from that
    // range (bind to 0, close, hand out) can be given to any test's outgoing connection before the node binds it.
    private static readonly ConcurrentDictionary<int, bool> HandedOut = new();
    private static readonly int Highest = EphemeralRangeStart() - 1;

    /// <summary>A loopback port free right now (the edge node needs its ports before it starts, to tell admin from viewer).</summary>
    public static int Next()
    {
        while (true)
        {
            var port = Random.Shared.Next(Lowest, Highest + 1);
            if (!HandedOut.TryAdd(port, true))
            {
                continue;
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use by another process on this machine: draw again.
            }
        }
    }

    private static int EphemeralRangeStart()
    {
        const string RangeFile = "/proc/sys/net/ipv4/ip_local_port_range";
        if (File.Exists(RangeFile)
            && int.TryParse(File.ReadAllText(RangeFile).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], out var start)
            && start > Lowest + 1000)
        {
            return start;
        }

        return 32768;
    }
}
