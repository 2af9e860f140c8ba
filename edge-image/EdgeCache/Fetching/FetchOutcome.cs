using EdgeCache.Caching;
using EdgeCache.Origins;

namespace EdgeCache.Fetching;

/// <summary>How an origin fetch turned out, as seen by the viewers waiting on it.</summary>
public abstract class FetchOutcome
{
    private FetchOutcome()
    {
    }

    /// <summary>A response every collapsed viewer may be served; its body may still be arriving.</summary>
    public sealed class Shared(CacheEntry entry, bool revalidated, bool storable, int originStatus) : FetchOutcome
    {
        public CacheEntry Entry { get; } = entry;

        /// <summary>The origin answered 304 and the stored entry was refreshed.</summary>
        public bool Revalidated { get; } = revalidated;

        private bool _stored;

        public bool Storable { get; } = storable;

        /// <summary>
        /// The entry is in the cache: set once the fetch has stored it, after its body arrived whole. Read while the
        /// body is still arriving, false means not yet known (the store may still be refused, purged or cut off).
        /// </summary>
        public bool Stored => Volatile.Read(ref _stored);

        public int OriginStatus { get; } = originStatus;

        /// <summary>Why a response every collapsed viewer may be served is not stored (<see cref="CachePolicy.UnstorableReason"/>), or null.</summary>
        public string? UnstorableReason { get; init; }

        internal void MarkStored() => Volatile.Write(ref _stored, true);
    }

    /// <summary>
    /// Only for the viewer that caused the fetch (no-store, private, Set-Cookie, Vary: *, or too large to buffer):
    /// the leader streams it; every waiter is released to fetch for itself.
    /// </summary>
    public sealed class Pass(OriginResponse response, string reason) : FetchOutcome
    {
        public OriginResponse Response { get; } = response;

        public string Reason { get; } = reason;
    }

    /// <summary>The origin could not be reached or answered with an error while a stale copy may stand in.</summary>
    public sealed class Failed(Exception error, int viewerStatus) : FetchOutcome
    {
        public Exception Error { get; } = error;

        /// <summary>502 or 504 for a transport failure, or the origin's own 5xx when a stale copy may stand in for it.</summary>
        public int ViewerStatus { get; } = viewerStatus;
    }
}
