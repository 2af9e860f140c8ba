using System.Net;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace EdgeCache.InvalidationLog;

/// <summary>
/// The S3 calls on the invalidation log (layout in <see cref="ControlBucketKeys"/>). Failures to reach the bucket are
/// the SDK's exceptions; callers decide whether to retry, wait or report.
/// </summary>
public sealed class ControlBucket(IAmazonS3 s3, string bucket, string? keyPrefix = null)
{
    public string Bucket { get; } = bucket;

    public ControlBucketKeys Keys { get; } = new(keyPrefix);

    /// <summary>GET of the head, conditional on <paramref name="etag"/>: an idle log costs one 304 per call.</summary>
    public async Task<HeadRead> GetHeadAsync(string? etag, CancellationToken cancellationToken)
    {
        var request = new GetObjectRequest { BucketName = Bucket, Key = Keys.Head };
        if (etag is not null)
        {
            request.EtagToNotMatch = etag;
        }

        try
        {
            using var body = await ReadReplaceableAsync(request, cancellationToken).ConfigureAwait(false);
            LogHead? head;
            try
            {
                head = JsonSerializer.Deserialize(body.GetBuffer().AsSpan(0, (int)body.Length), StatusJsonContext.Default.LogHead);
            }
            catch (JsonException)
            {
                head = null;
            }

            return new HeadRead(body.ETag != etag, body.ETag, head);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotModified)
        {
            return new HeadRead(false, etag, null);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return new HeadRead(etag is not null, null, null);
        }
        catch (AmazonClientException ex) when (ex.Message.Contains("hash", StringComparison.OrdinalIgnoreCase))
        {
            // A body that failed the SDK's check against its ETag, on every read: a torn head, as an S3-compatible
            // server can leave after two concurrent writes. Like a head of bad JSON it says "look at the records", and
            // the next writer replaces it.
            return new HeadRead(true, null, null);
        }
    }

    public async Task PutHeadAsync(LogHead head, CancellationToken cancellationToken) =>
        await PutJsonAsync(Keys.Head, JsonSerializer.SerializeToUtf8Bytes(head, StatusJsonContext.Default.LogHead), ifNoneMatch: false, cancellationToken).ConfigureAwait(false);

    /// <summary>Writes a new record; false if an object of that name exists already (records are never overwritten).</summary>
    public async Task<bool> PutRecordAsync(InvalidationRecord record, CancellationToken cancellationToken)
    {
        try
        {
            await PutJsonAsync(Keys.Record(record.Id), record.ToJson(), ifNoneMatch: true, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    /// <summary>Ids of the records after <paramref name="startAfter"/> (an id or an <see cref="InvalidationId.Floor"/>), oldest first.</summary>
    public async Task<List<string>> ListRecordIdsAsync(string? startAfter, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        await foreach (var item in ListAsync(Keys.Records, startAfter is null ? null : Keys.Records + startAfter, cancellationToken).ConfigureAwait(false))
        {
            if (Keys.IdOf(item.Key) is { } id)
            {
                ids.Add(id);
            }
        }

        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    /// <summary>A record's bytes, or null when it is gone (expired by the bucket's lifecycle). Larger than <see cref="InvalidationRecord.MaxBytes"/> is cut there.</summary>
    public async Task<byte[]?> GetRecordAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = Keys.Record(id) }, cancellationToken).ConfigureAwait(false);
            using var body = new MemoryStream();
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await response.ResponseStream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                body.Write(buffer, 0, read);
                if (body.Length > InvalidationRecord.MaxBytes)
                {
                    // Enough to be refused by the parser as too large, without reading a huge object whole.
                    break;
                }
            }

            return body.ToArray();
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<InvalidationRecord?> ReadRecordAsync(string id, CancellationToken cancellationToken)
    {
        var bytes = await GetRecordAsync(id, cancellationToken).ConfigureAwait(false);
        return bytes is not null && InvalidationRecord.TryParse(bytes, id, out var record, out _) ? record : null;
    }

    public async Task PutAckAsync(string id, NodeAck ack, CancellationToken cancellationToken) =>
        await PutJsonAsync(Keys.Ack(id, ack.Region, ack.Node), JsonSerializer.SerializeToUtf8Bytes(ack, StatusJsonContext.Default.NodeAck), ifNoneMatch: false, cancellationToken).ConfigureAwait(false);

    /// <summary>The (region, node) pairs that have acked <paramref name="id"/>.</summary>
    public async Task<HashSet<(string Region, string Node)>> ListAcksAsync(string id, CancellationToken cancellationToken)
    {
        var prefix = Keys.AcksOf(id);
        var acked = new HashSet<(string, string)>();
        await foreach (var item in ListAsync(prefix, null, cancellationToken).ConfigureAwait(false))
        {
            var rest = item.Key[prefix.Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash > 0 && slash < rest.Length - 1)
            {
                acked.Add((rest[..slash], rest[(slash + 1)..]));
            }
        }

        return acked;
    }

    public async Task PutHeartbeatAsync(NodeHeartbeat heartbeat, CancellationToken cancellationToken) =>
        await PutJsonAsync(Keys.Heartbeat(heartbeat.Region, heartbeat.Node), JsonSerializer.SerializeToUtf8Bytes(heartbeat, StatusJsonContext.Default.NodeHeartbeat), ifNoneMatch: false, cancellationToken).ConfigureAwait(false);

    /// <summary>Every node's last heartbeat (alive or not), by region then node; unreadable ones are left out.</summary>
    public async Task<List<NodeHeartbeat>> ReadHeartbeatsAsync(CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var item in ListAsync(Keys.Nodes, null, cancellationToken).ConfigureAwait(false))
        {
            keys.Add(item.Key);
        }

        var reads = keys.Select(async key =>
        {
            try
            {
                using var body = await ReadReplaceableAsync(new GetObjectRequest { BucketName = Bucket, Key = key }, cancellationToken).ConfigureAwait(false);
                return JsonSerializer.Deserialize(body.GetBuffer().AsSpan(0, (int)body.Length), StatusJsonContext.Default.NodeHeartbeat);
            }
            catch (Exception ex) when (ex is JsonException || (ex is AmazonS3Exception s3Error && s3Error.StatusCode == HttpStatusCode.NotFound))
            {
                return null;
            }
        });
        var heartbeats = (await Task.WhenAll(reads).ConfigureAwait(false)).OfType<NodeHeartbeat>().ToList();
        heartbeats.Sort((a, b) => (string.CompareOrdinal(a.Region, b.Region), string.CompareOrdinal(a.Node, b.Node)) switch
        {
            (0, var byNode) => byNode,
            (var byRegion, _) => byRegion,
        });
        return heartbeats;
    }

    /// <summary>
    /// Reads an object that is replaced in place (the head, a heartbeat). S3 replaces an object atomically, but some
    /// S3-compatible servers (s3rver) can serve one torn while it is rewritten, which the SDK reports as a short body,
    /// a checksum mismatch or a malformed ETag: read again, a few times with a growing pause (a busy server can take a
    /// few hundred milliseconds to finish the rewrite), before reporting the failure.
    /// </summary>
    private async Task<ObjectBody> ReadReplaceableAsync(GetObjectRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var response = await s3.GetObjectAsync(request, cancellationToken).ConfigureAwait(false);
                var body = new ObjectBody(response.ETag);
                await response.ResponseStream.CopyToAsync(body, cancellationToken).ConfigureAwait(false);
                return body;
            }
            catch (Exception ex) when (attempt < 6 && ex is not AmazonServiceException && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(25 << attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async IAsyncEnumerable<S3Object> ListAsync(string prefix, string? startAfter, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix, StartAfter = startAfter };
        while (true)
        {
            var response = await s3.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            foreach (var item in response.S3Objects ?? [])
            {
                yield return item;
            }

            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
            {
                yield break;
            }

            request.ContinuationToken = response.NextContinuationToken;
        }
    }

    private async Task PutJsonAsync(string key, byte[] json, bool ifNoneMatch, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(json, writable: false);
        var request = new PutObjectRequest
        {
            BucketName = Bucket,
            Key = key,
            InputStream = body,
            ContentType = "application/json",
            // S3-compatible servers store aws-chunked framing as content; the body is small and already in memory.
            UseChunkEncoding = false,
        };
        if (ifNoneMatch)
        {
            request.IfNoneMatch = "*";
        }

        await s3.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
