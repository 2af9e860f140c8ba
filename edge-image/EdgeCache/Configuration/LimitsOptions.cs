namespace EdgeCache.Configuration;

public sealed class LimitsOptions
{
    public int MaxRequestHeadersBytes { get; set; } = 32 * 1024;

    public int MaxRequestLineBytes { get; set; } = 8 * 1024;

    public long MaxRequestBodyBytes { get; set; } = 10 * 1024 * 1024;
}
