using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace EdgeCache.Hosting;

/// <summary>
/// Binds each configured port once, and lets it go, before the server starts: a port another process holds, or an
/// address this machine does not have, stops start-up as invalid configuration does (exit 2, one line naming the field)
/// instead of failing inside the host with a stack trace. The runtime binds TCP sockets with SO_REUSEADDR, as Kestrel's
/// do, so a port left in TIME_WAIT by an earlier run passes here as it does there.
/// </summary>
public static class ListenPreflight
{
    public static List<string> Check(Configuration.ListenOptions listen)
    {
        var address = IPAddress.Parse(listen.Address);
        var errors = new List<string>();
        foreach (var (field, port) in Ports(listen))
        {
            var endpoint = new IPEndPoint(address, port);
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (address.Equals(IPAddress.IPv6Any))
                {
                    // As the server binds [::]: IPv4 too, so a port an IPv4 listener holds is found.
                    socket.DualMode = true;
                }

                socket.Bind(endpoint);
            }
            catch (SocketException ex)
            {
                errors.Add(Describe(field, endpoint, ex));
                if (ex.SocketErrorCode == SocketError.AddressNotAvailable)
                {
                    // The same for every port: one line is enough.
                    break;
                }
            }
        }

        return errors;
    }

    /// <summary>Whether the server failed to start because it could not bind a port (one taken after <see cref="Check"/>).</summary>
    public static bool IsBindFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AddressInUseException || e is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse or SocketError.AddressNotAvailable or SocketError.AccessDenied })
            {
                return true;
            }
        }

        return false;
    }

    private static string Describe(string field, IPEndPoint endpoint, SocketException ex) => ex.SocketErrorCode switch
    {
        SocketError.AddressAlreadyInUse => $"listen.{field}: {endpoint} is in use by another process",
        SocketError.AddressNotAvailable => $"listen.address: {endpoint.Address} is not an address of this machine (cannot listen on {endpoint})",
        SocketError.AccessDenied => $"listen.{field}: this process may not listen on {endpoint} (permission denied; ports below 1024 need privileges)",
        _ => $"listen.{field}: cannot listen on {endpoint}: {ex.Message}",
    };

    private static IEnumerable<(string Field, int Port)> Ports(Configuration.ListenOptions listen)
    {
        yield return ("viewerPort", listen.ViewerPort);
        yield return ("adminPort", listen.AdminPort);
        if (listen.HttpsRedirectPort is { } redirect)
        {
            yield return ("httpsRedirectPort", redirect);
        }
    }
}
