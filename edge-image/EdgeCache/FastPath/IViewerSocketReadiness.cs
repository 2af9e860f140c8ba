namespace EdgeCache.FastPath;

/// <summary>
/// A transport that polls its sockets itself (<see cref="SharedEpollConnection"/>) offers this, so that
/// <see cref="ViewerSocketWriter"/> sends without blocking and waits for room on the same poller, on the I/O threads,
/// instead of registering the socket with the runtime's socket engine as well.
/// </summary>
public interface IViewerSocketReadiness
{
    /// <summary>Write-readiness events seen so far (room in the socket's buffer, an error, or the socket closed).</summary>
    int WritableEvents { get; }

    /// <summary>
    /// Calls <paramref name="callback"/> once, on an I/O thread, at the next write-readiness event. Returns false, having
    /// registered nothing, when an event came after <paramref name="seenEvents"/> was read: the caller tries again now.
    /// </summary>
    bool NotifyWhenWritable(int seenEvents, Action<object?> callback, object? state);
}
