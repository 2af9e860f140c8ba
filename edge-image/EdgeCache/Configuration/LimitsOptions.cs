namespace EdgeCache.Configuration;

public sealed class LimitsOptions
{
    public int MaxRequestHeadersBytes { get; set; } = 32 * 1024;

    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>
    /// A viewer's request body arriving slower than this on average, once <see cref="RequestBodyGracePeriodSeconds"/>
    /// have passed, is cut off with 408 (Kestrel's MinRequestBodyDataRate, whose defaults these are). Time the node
    /// spends waiting on the origin is not counted. 0 turns the minimum off.
    /// </summary>
    public int MinRequestBodyBytesPerSecond { get; set; } = 240;

    public int RequestBodyGracePeriodSeconds { get; set; } = 5;

    /// <summary>
    /// A viewer connection whose response has been waiting this long without the viewer acknowledging a byte is closed,
    /// as nginx's send_timeout (whose default this is) and Varnish's idle_send_timeout do. Applies to the viewer port's
    /// own send path (listen.directBodySend); with that off, Kestrel's minimum response data rate applies instead.
    /// </summary>
    public int ViewerSendTimeoutSeconds { get; set; } = 60;
}
