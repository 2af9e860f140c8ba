namespace EdgeCache.Caching;

/// <summary>
/// Every stored variant of one primary key (URL + key policy), selected by the request headers the response's Vary named.
/// Copy-on-write: readers take no lock. A new response with a different Vary replaces the set (RFC 9111 4.1: the most recent wins).
/// </summary>
public sealed class VariantSet
{
    private readonly KeyValuePair<string, CacheEntry>[] _variants;

    private VariantSet(string[] varyNames, KeyValuePair<string, CacheEntry>[] variants)
    {
        VaryNames = varyNames;
        _variants = variants;
    }

    public string[] VaryNames { get; }

    public int Count => _variants.Length;

    public long Size
    {
        get
        {
            long size = 0;
            foreach (var (_, entry) in _variants)
            {
                size += entry.Size;
            }

            return size;
        }
    }

    public IEnumerable<CacheEntry> Entries => _variants.Select(v => v.Value);

    public static VariantSet Single(CacheEntry entry) => new(entry.VaryNames, [new(entry.SecondaryKey, entry)]);

    public CacheEntry? Find(string secondaryKey)
    {
        foreach (var (key, entry) in _variants)
        {
            if (key == secondaryKey)
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>A set with <paramref name="entry"/> added or replacing the variant with the same secondary key.</summary>
    public VariantSet With(CacheEntry entry)
    {
        if (!VaryNames.AsSpan().SequenceEqual(entry.VaryNames))
        {
            return Single(entry);
        }

        var list = new List<KeyValuePair<string, CacheEntry>>(_variants.Length + 1);
        foreach (var variant in _variants)
        {
            if (variant.Key != entry.SecondaryKey)
            {
                list.Add(variant);
            }
        }

        list.Add(new(entry.SecondaryKey, entry));
        return new VariantSet(VaryNames, [.. list]);
    }
}
