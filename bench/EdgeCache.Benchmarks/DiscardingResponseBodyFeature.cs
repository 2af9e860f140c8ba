using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace EdgeCache.Benchmarks;

internal sealed class DiscardingResponseBodyFeature(DiscardingPipeWriter writer, ReusableResponseFeature response) : IHttpResponseBodyFeature
{
    public Stream Stream => Stream.Null;

    public PipeWriter Writer => writer;

    public void DisableBuffering()
    {
    }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        response.HasStarted = true;
        return Task.CompletedTask;
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task CompleteAsync()
    {
        response.HasStarted = true;
        return Task.CompletedTask;
    }
}
