using System.IO.Pipelines;
using EdgeCache.Behaviors;
using EdgeCache.Caching;
using EdgeCache.Origins;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.ObjectPool;

namespace EdgeCache.Proxy;

/// <summary>
/// One viewer request as the pipeline's parts see it: what the handler resolved for it (behavior, origin, path, queries,
/// and the cache key once one is built), the facts gathered for the access log and metrics, and the body sink for
/// streamed copies. Pooled: taken at the start of a request and returned (reset) when its access-log line and metrics
/// are written, so a hit allocates neither this object nor a closure for its body copy.
/// </summary>
internal sealed class RequestState : IResettable
{
    private PipeWriter? _bodyWriter;
    private IReadOnlyList<KeyValuePair<string, string>>? _forwardedHeaders;

    public RequestState()
    {
        WriteBody = WriteBodyAsync;
    }

    public CacheOutcome Outcome { get; set; } = CacheOutcome.Synthetic;

    public long BodyBytes { get; set; }

    public int BehaviorIndex { get; set; } = -1;

    public bool Collapsed { get; set; }

    public string? Detail { get; set; }

    /// <summary>The matched behavior (set by the handler before any other part runs).</summary>
    public CacheBehavior Behavior { get; set; } = null!;

    public IOrigin Origin { get; set; } = null!;

    /// <summary>The validated request path.</summary>
    public string Path { get; set; } = "";

    /// <summary>The query parameters the key holds, normalized (<see cref="CacheKeyBuilder.Queries"/>).</summary>
    public string KeyQuery { get; set; } = "";

    /// <summary>The query sent to the origin, normalized.</summary>
    public string ForwardedQuery { get; set; } = "";

    /// <summary>The request's Cache-Control, when the behavior respects it; empty otherwise.</summary>
    public CacheControl RequestCacheControl { get; set; } = CacheControl.Empty;

    /// <summary>The coding this viewer would be served ("br", "gzip" or "identity"; always identity when the behavior does not compress).</summary>
    public string WantedEncoding { get; set; } = "identity";

    /// <summary>Built once the request is not a fresh memory hit (a hit is looked up by the key's characters alone).</summary>
    public CacheKey? Key { get; set; }

    /// <summary>The URL's Vary as last seen (a stored variant, a collapsed response), so a miss collapses with misses for its own variant.</summary>
    public string[]? KnownVary { get; set; }

    /// <summary>Writes to the viewer's body (set <see cref="UseBodyWriter"/> first) and counts the bytes; one delegate per pooled state.</summary>
    public Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> WriteBody { get; }

    public void UseBodyWriter(PipeWriter writer) => _bodyWriter = writer;

    /// <summary>The viewer headers the behavior forwards, built on first use: a hit needs none of them.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ForwardedHeaders(HttpRequest request) =>
        _forwardedHeaders ??= ForwardedRequestHeaders.For(Behavior, request.Headers, RequestMethod.IsGetOrHead(request.Method));

    public bool TryReset()
    {
        Outcome = CacheOutcome.Synthetic;
        BodyBytes = 0;
        BehaviorIndex = -1;
        Collapsed = false;
        Detail = null;
        Behavior = null!;
        Origin = null!;
        Path = KeyQuery = ForwardedQuery = "";
        RequestCacheControl = CacheControl.Empty;
        WantedEncoding = "identity";
        Key = null;
        KnownVary = null;
        _forwardedHeaders = null;
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
