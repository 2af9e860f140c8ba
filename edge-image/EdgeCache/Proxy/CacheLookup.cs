using System.Buffers;
using System.Runtime.CompilerServices;
using EdgeCache.Caching;
using EdgeCache.Disk;
using EdgeCache.Purging;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Proxy;

/// <summary>
/// Finds a request's entry: in memory first, by the key's characters so a hit builds no key string; then on disk, whose
/// copy is promoted to memory. Judges it against the request's Cache-Control.
/// </summary>
internal sealed class CacheLookup(MemoryCacheStore store, DiskCacheStore disk, PurgeLog purges, TimeProvider time)
{
    /// <summary>Primary keys up to this many characters are formatted on the stack for the memory lookup.</summary>
    private const int StackKeyChars = 256;

    /// <summary>Looks both tiers up; completes without waiting (and without allocating) for a fresh memory hit.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<CacheLookupResult> FindAsync(HttpContext context, RequestState state)
    {
        var headers = context.Request.Headers;
        var now = time.GetUtcNow();
        CacheEntry? entry = null;
        var missReason = ForwardReason.UriMiss;
        if (FindVariants(state, headers) is { } variants)
        {
            entry = variants.Find(CacheKeyBuilder.SecondaryKey(variants.VaryNames, headers));
            missReason = entry is null ? ForwardReason.VaryMiss : ForwardReason.Stale;
            state.KnownVary = variants.VaryNames;
            if (entry is not null && !RangeResponses.CanAnswer(context.Request, entry))
            {
                // A stored piece without what this request asks for: a miss, and not a stale copy either (it can
                // neither stand in for the whole nor be revalidated for it). The disk tier keeps whole objects only,
                // and what it has is older than the piece: the fetch's answer replaces both.
                entry = null;
                missReason = ForwardReason.Partial;
            }
        }

        if (entry is not null && CachePolicy.SatisfiesRequest(entry, state.RequestCacheControl, now))
        {
            return CacheLookupResult.Fresh(entry, now);
        }

        var key = state.Key ??= CacheKey.For(state.Behavior, state.Path, state.KeyQuery, headers);
        var generation = purges.Generation;
        if (entry is null && missReason != ForwardReason.Partial && disk.Enabled && await disk.LoadAsync(key, headers, context.RequestAborted).ConfigureAwait(false) is { } fromDisk)
        {
            // Promoted: the disk tier's copy (checksums verified) becomes the memory tier's, unless it is too large
            // for memory, in which case it keeps being served from its file. Not if a purge or invalidation landed
            // while it was read: that one swept memory already, and would find the copy back there after it.
            if (!fromDisk.Body.IsFileBacked)
            {
                store.Store(key, fromDisk, purges, generation);
            }
            else
            {
                // Its file is this request's to close, when the request ends (CachedBody's remarks).
                context.Response.RegisterForDispose(new BodyReference(fromDisk.Body));
            }

            entry = fromDisk;
            state.Detail = ResponseDetail.FromDisk;
            if (CachePolicy.SatisfiesRequest(entry, state.RequestCacheControl, now))
            {
                return CacheLookupResult.Fresh(entry, now);
            }
        }

        return entry is null ? CacheLookupResult.Miss(missReason, now) : CacheLookupResult.Stale(entry, now);
    }

    /// <summary>
    /// The memory tier's variants for the request. A key that is just prefix, path and query is looked up by its
    /// characters, without making a string (a hit needs none); otherwise the key is built into the state, and that is
    /// used once set.
    /// </summary>
    private VariantSet? FindVariants(RequestState state, IHeaderDictionary headers)
    {
        if (state.Key is { } built)
        {
            return store.Get(built.Primary);
        }

        var length = CacheKeyBuilder.SimplePrimaryKeyLength(state.Behavior, state.Path, state.KeyQuery);
        if (length < 0)
        {
            return store.Get((state.Key = CacheKey.For(state.Behavior, state.Path, state.KeyQuery, headers)).Primary);
        }

        char[]? rented = null;
        var key = length <= StackKeyChars ? stackalloc char[StackKeyChars] : (rented = ArrayPool<char>.Shared.Rent(length));
        try
        {
            CacheKeyBuilder.FormatSimplePrimaryKey(state.Behavior, state.Path, state.KeyQuery, key);
            return store.Get(key[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }
}
