namespace EdgeCache.Configuration;

public sealed class AccessLogOptions
{
    public bool Enabled { get; set; } = true;
}
