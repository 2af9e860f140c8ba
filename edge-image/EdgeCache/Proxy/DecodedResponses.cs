using System.Buffers;
using System.IO.Pipelines;
using EdgeCache.Caching;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Proxy;

/// <summary>Serving a response in a coding the origin chose to a viewer that does not accept it (<see cref="ContentCodings"/>).</summary>
internal static class DecodedResponses
{
    /// <summary>
    /// The response headers of the decoded representation: no Content-Encoding, no length or ranges (known only once
    /// decoded), and a weak ETag, since its bytes are not the ones the origin's validator names. False, and nothing
    /// changed, when the node cannot decode <paramref name="coding"/>.
    /// </summary>
    public static bool PrepareHeaders(HttpResponse response, string coding, int status)
    {
        if (!ContentCodings.CanDecode(coding) || status == StatusCodes.Status206PartialContent)
        {
            return false;
        }

        var headers = response.Headers;
        headers.Remove(HeaderNames.ContentEncoding);
        headers.Remove(HeaderNames.ContentLength);
        headers.Remove(HeaderNames.AcceptRanges);
        if (headers.ETag is [{ } etag] && !etag.StartsWith("W/", StringComparison.Ordinal))
        {
            headers.ETag = "W/" + etag;
        }

        return true;
    }

    /// <summary>Sends a stored body decoded. The stored bytes are piped into the decoder as they arrive, as a plain copy would send them.</summary>
    public static async Task SendAsync(HttpContext context, RequestState state, CachedBody body, string coding)
    {
        if (RequestMethod.IsHead(context.Request.Method) || context.Response.StatusCode is 204 or 304)
        {
            return;
        }

        var pipe = new Pipe();
        var filling = FillAsync(body, pipe.Writer, context.RequestAborted);
        try
        {
            await using var decoder = ContentCodings.OpenDecoder(coding, pipe.Reader.AsStream())!;
            await CopyAsync(context, state, decoder).ConfigureAwait(false);
        }
        finally
        {
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
            await filling.ConfigureAwait(false);
        }

        static async Task FillAsync(CachedBody body, PipeWriter writer, CancellationToken cancellationToken)
        {
            try
            {
                await body.CopyToAsync(
                    async (bytes, ct) =>
                    {
                        var flushed = await writer.WriteAsync(bytes, ct).ConfigureAwait(false);
                        if (flushed.IsCompleted)
                        {
                            // The decoder stopped reading (the viewer went away, or the data did not decode).
                            throw new OperationCanceledException();
                        }
                    },
                    0,
                    long.MaxValue,
                    cancellationToken).ConfigureAwait(false);
                await writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Surfaces on the decoder's side: an incomplete body there aborts the viewer's response as any other.
                await writer.CompleteAsync(ex).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Copies decoded bytes to the viewer; a coding error is an incomplete body (502 if nothing went out yet, else an abort).</summary>
    private static async Task CopyAsync(HttpContext context, RequestState state, Stream decoded)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await decoded.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                }
                catch (InvalidDataException ex)
                {
                    throw new IncompleteBodyException("the origin's body does not decode as its Content-Encoding says", ex);
                }

                if (read == 0)
                {
                    return;
                }

                await context.Response.BodyWriter.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted).ConfigureAwait(false);
                state.BodyBytes += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
