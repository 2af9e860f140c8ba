namespace EdgeCache.Proxy;

/// <summary>The kind of <see cref="CacheLookupResult"/>.</summary>
internal enum CacheLookupStatus
{
    /// <summary>Stored and fresh enough for this request: served as a hit.</summary>
    Fresh,

    /// <summary>Stored but not fresh enough for this request: served stale while revalidating, revalidated, or stands in on an origin error.</summary>
    Stale,

    /// <summary>Nothing stored for this request's URL, or for its variant.</summary>
    Miss,
}
