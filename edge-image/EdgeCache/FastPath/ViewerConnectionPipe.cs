using System.IO.Pipelines;

namespace EdgeCache.FastPath;

/// <summary>A connection's transport with its output replaced: the transport's own input, a <see cref="ViewerSocketWriter"/> as output.</summary>
internal sealed class ViewerConnectionPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}
