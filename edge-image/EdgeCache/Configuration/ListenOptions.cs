namespace EdgeCache.Configuration;

public sealed class ListenOptions
{
    public string Address { get; set; } = "0.0.0.0";

    public int ViewerPort { get; set; } = 8080;

    public int AdminPort { get; set; } = 9090;
}
