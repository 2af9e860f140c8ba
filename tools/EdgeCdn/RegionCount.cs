namespace EdgeCdn;

public sealed record RegionCount(string Region, int Acked, int Alive);
