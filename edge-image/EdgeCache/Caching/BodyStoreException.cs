namespace EdgeCache.Caching;

/// <summary>
/// Writing a file-backed body to the disk tier failed (disk full, I/O error): a fault of this node's storage, not of the
/// origin, so it degrades the disk tier instead of counting against the origin.
/// </summary>
public sealed class BodyStoreException(string message, Exception? inner = null) : IOException(message, inner);
