using System.Net.Sockets;

namespace EdgeCache.FastPath;

/// <summary>The one reusable send operation of a <see cref="ViewerSocketWriter"/>; completes it when a send finishes asynchronously.</summary>
internal sealed class SocketSendEventArgs(ViewerSocketWriter writer) : SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true)
{
    protected override void OnCompleted(SocketAsyncEventArgs e) => writer.OnSendCompleted();
}
