using System.IO.Pipelines;
using Microsoft.Extensions.ObjectPool;

namespace EdgeCache.Proxy;

/// <summary>
/// Per-request facts gathered for the access log and metrics, and the body sink for streamed copies. Pooled: taken
/// at the start of a request and returned (reset) when its access-log line and metrics are written, so a hit
/// allocates neither this object nor a closure for its body copy.
/// </summary>
internal sealed class RequestState : IResettable
{
    private PipeWriter? _bodyWriter;

    public RequestState()
    {
        WriteBody = WriteBodyAsync;
    }

    public CacheOutcome Outcome { get; set; } = CacheOutcome.Synthetic;

    public long BodyBytes { get; set; }

    public int BehaviorIndex { get; set; } = -1;

    public bool Collapsed { get; set; }

    public string? Detail { get; set; }

    /// <summary>Writes to the viewer's body (set <see cref="UseBodyWriter"/> first) and counts the bytes; one delegate per pooled state.</summary>
    public Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> WriteBody { get; }

    public void UseBodyWriter(PipeWriter writer) => _bodyWriter = writer;

    public bool TryReset()
    {
        Outcome = CacheOutcome.Synthetic;
        BodyBytes = 0;
        BehaviorIndex = -1;
        Collapsed = false;
        Detail = null;
        _bodyWriter = null;
        return true;
    }

    private ValueTask WriteBodyAsync(ReadOnlyMemory<byte> memory, CancellationToken cancellationToken)
    {
        var flush = _bodyWriter!.WriteAsync(memory, cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            _ = flush.Result;
            BodyBytes += memory.Length;
            return default;
        }

        return AwaitWriteAsync(flush, memory.Length);
    }

    private async ValueTask AwaitWriteAsync(ValueTask<FlushResult> flush, int length)
    {
        await flush.ConfigureAwait(false);
        BodyBytes += length;
    }
}
