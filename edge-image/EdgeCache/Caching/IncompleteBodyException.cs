namespace EdgeCache.Caching;

/// <summary>The body stopped short: the viewer's connection is aborted so it can tell the object is incomplete.</summary>
public sealed class IncompleteBodyException(string message, Exception? inner = null) : IOException(message, inner);
