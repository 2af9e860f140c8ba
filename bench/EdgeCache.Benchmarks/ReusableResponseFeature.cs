using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace EdgeCache.Benchmarks;

/// <summary>Status and headers of one reused response, reset between operations the way Kestrel resets its own per request.</summary>
internal sealed class ReusableResponseFeature : IHttpResponseFeature
{
    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    public string? ReasonPhrase { get; set; }

    public IHeaderDictionary Headers { get; set; } = new ResponseHeaders();

    [Obsolete("Use IHttpResponseBodyFeature.Stream.")]
    public Stream Body { get; set; } = Stream.Null;

    public bool HasStarted { get; set; }

    public void OnStarting(Func<object, Task> callback, object state)
    {
    }

    public void OnCompleted(Func<object, Task> callback, object state)
    {
    }

    public void Reset()
    {
        StatusCode = StatusCodes.Status200OK;
        ReasonPhrase = null;
        HasStarted = false;
        Headers.Clear();
    }
}
