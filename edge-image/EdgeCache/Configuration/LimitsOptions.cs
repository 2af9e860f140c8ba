namespace EdgeCache.Configuration;

public sealed class LimitsOptions
{
    public int MaxRequestHeadersBytes { get; set; } = 32 * 1024;

    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>
    /// A viewer connection whose response has been waiting this long without the viewer acknowledging a byte is closed,
    /// as nginx's send_timeout (whose default this is) and Varnish's idle_send_timeout do. Applies to the viewer port's
    /// own send path (listen.directBodySend); with that off, Kestrel's minimum response data rate applies instead.
    /// </summary>
    public int ViewerSendTimeoutSeconds { get; set; } = 60;
}
