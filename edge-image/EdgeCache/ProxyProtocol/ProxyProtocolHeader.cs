using System.Net;

namespace EdgeCache.ProxyProtocol;

/// <summary>A parsed PROXY protocol v2 header.</summary>
/// <param name="IsLocal">The LOCAL command: the load balancer's own connection (a health check); the connection's own addresses stand.</param>
/// <param name="Source">The viewer's address and port; null when the header carries none the node uses (LOCAL, UNSPEC, UDP, UNIX).</param>
/// <param name="Destination">The address and port the viewer connected to (the load balancer's listener), when <paramref name="Source"/> is set.</param>
public sealed record ProxyProtocolHeader(bool IsLocal, IPEndPoint? Source, IPEndPoint? Destination);
