using System.Net;

namespace EdgeCache.Configuration.Validation;

/// <summary>listen: an address the node can bind, and three ports that are not one another.</summary>
internal static class ListenRules
{
    public static void Check(List<string> errors, ListenOptions listen)
    {
        // A pattern cannot tell every IPv6 form; the parser the node binds with can.
        if (!IPAddress.TryParse(listen.Address, out _))
        {
            errors.Add($"listen.address: {ConfigValueText.Quote(listen.Address)} is not an IP address");
        }

        if (listen.ViewerPort == listen.AdminPort)
        {
            errors.Add($"listen.adminPort: must differ from listen.viewerPort ({listen.ViewerPort}); admin endpoints are never served to viewers");
        }

        if (listen.HttpsRedirectPort is { } redirect && (redirect == listen.ViewerPort || redirect == listen.AdminPort))
        {
            errors.Add($"listen.httpsRedirectPort: {redirect} must differ from listen.viewerPort and listen.adminPort");
        }
    }
}
