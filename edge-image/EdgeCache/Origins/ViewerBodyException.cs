namespace EdgeCache.Origins;

/// <summary>
/// The viewer's request body could not be read while it was relayed to the origin (broken chunking, over the size limit,
/// too slow, the viewer gone): the viewer's fault, answered 4xx, never counted against the origin.
/// </summary>
public sealed class ViewerBodyException(Exception inner) : Exception("the viewer's request body could not be read: " + inner.Message, inner);
