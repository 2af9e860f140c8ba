namespace EdgeCache.Configuration;

public sealed class CacheOptions
{
    public long MemoryBytes { get; set; } = 256L * 1024 * 1024;

    public long MaxObjectBytes { get; set; } = 8L * 1024 * 1024;

    public double HeuristicFraction { get; set; } = 0.1;

    public DiskOptions Disk { get; set; } = new();
}
