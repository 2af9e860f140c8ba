using System.Net;
using System.Net.Sockets;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using EdgeCache.Configuration;
using Microsoft.Extensions.Primitives;

namespace EdgeCache.Origins;

/// <summary>
/// A private S3 bucket read with GetObject, signed by the AWS SDK's default credential chain (on EKS that is the
/// service account's web-identity token). The object key is the configured prefix plus the validated path, so a
/// viewer cannot name another bucket or climb out of the prefix. Conditional and ranged reads are passed through.
/// </summary>
public sealed class S3Origin : IOrigin, IDisposable
{
    private static readonly HashSet<string> PassedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Type", "ETag", "Last-Modified", "Cache-Control", "Expires", "Content-Encoding", "Content-Language",
        "Content-Disposition", "Accept-Ranges", "Content-Range",
    };

    /// <summary>S3 error codes that mean the request's credentials, not the object, were refused.</summary>
    private static readonly HashSet<string> CredentialErrors = new(StringComparer.Ordinal)
    {
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
        "RequestTimeTooSkewed", "AccountProblem", "AllAccessDisabled", "InvalidSecurity",
    };

    /// <summary>
    /// How long a viewer-facing error made here (a missing key) may be cached: S3 sends no cache headers for it, and the
    /// behavior's default TTL (often a day) would hide a newly uploaded object for that long. CloudFront's default
    /// error-caching TTL; a behavior's minTtl still raises it.
    /// </summary>
    private const int ErrorCacheSeconds = 10;

    private readonly IAmazonS3 _client;
    private readonly string _bucket;
    private readonly string _keyPrefix;
    private readonly TimeProvider _time;

    public S3Origin(OriginOptions options, TimeProvider? time = null, IAmazonS3? client = null)
    {
        Id = options.Id;
        _time = time ?? TimeProvider.System;
        _bucket = options.Bucket!;
        _keyPrefix = string.IsNullOrEmpty(options.KeyPrefix) ? "" : options.KeyPrefix.TrimEnd('/') + "/";
        ReadTimeout = TimeSpan.FromMilliseconds(options.ReadTimeoutMs);
        _client = client ?? CreateClient(options);
    }

    public string Id { get; }

    public TimeSpan ReadTimeout { get; }

    private static AmazonS3Client CreateClient(OriginOptions options)
    {
        var config = new AmazonS3Config
        {
            Timeout = TimeSpan.FromMilliseconds(options.ReadTimeoutMs),
            MaxErrorRetry = 1,
            // Only when required: the node never uploads, and S3-compatible servers reject unknown checksum modes.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.ServiceUrl is { } serviceUrl)
        {
            config.ServiceURL = serviceUrl;
            config.AuthenticationRegion = options.Region;
            config.ForcePathStyle = options.ForcePathStyle;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
            config.ForcePathStyle = options.ForcePathStyle;
        }

        // No explicit credentials: the SDK's default chain (env vars, web identity / IRSA, instance profile).
        return new AmazonS3Client(config);
    }

    public string ObjectKey(string path) => _keyPrefix + path.TrimStart('/');

    public async Task<OriginResponse> SendAsync(OriginRequest request, CancellationToken cancellationToken)
    {
        if (request.Method is not ("GET" or "HEAD"))
        {
            // Compared case-sensitively (RFC 9110 9.1): "get" is another method, refused like POST, never read as a GET.
            // A 405 says which methods the target supports (RFC 9110 15.5.6).
            return Synthetic(HttpStatusCode.MethodNotAllowed, $"S3 origins serve GET and HEAD only, not {request.Method}.", new KeyValuePair<string, StringValues>("Allow", "GET, HEAD"));
        }

        var key = ObjectKey(request.Path);
        if (key.Length == 0 || key.EndsWith('/'))
        {
            return Synthetic(HttpStatusCode.NotFound, "Not found.");
        }

        var get = new GetObjectRequest { BucketName = _bucket, Key = key };
        if (request.IfNoneMatch is not null)
        {
            get.EtagToNotMatch = request.IfNoneMatch;
        }

        if (request.IfModifiedSince is { } ims)
        {
            get.ModifiedSinceDate = ims.UtcDateTime;
        }

        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Range", StringComparison.OrdinalIgnoreCase) && TryParseSingleRange(value, out var range))
            {
                get.ByteRange = range;
            }
        }

        using var timeout = new IdleTimeout(_time, ReadTimeout, cancellationToken);
        GetObjectResponse response;
        try
        {
            response = await _client.GetObjectAsync(get, timeout.Token).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotModified)
        {
            var headers = new List<KeyValuePair<string, StringValues>>();
            if (request.IfNoneMatch is not null)
            {
                headers.Add(new("ETag", request.IfNoneMatch));
            }

            return new OriginResponse(304, headers, 0, Stream.Null);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is { } code && CredentialErrors.Contains(code))
        {
            // The node's own identity was refused (expired web-identity token, clock skew, wrong keys): an origin failure
            // (502, stale-if-error applies, nothing cached), never a 404 that would hide every object for its TTL.
            throw new OriginException(Id, OriginErrorKind.AccessDenied, $"S3 refused the node's credentials: {(int)ex.StatusCode} {code}", ex);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.Forbidden || ex.ErrorCode?.StartsWith("KMS.", StringComparison.Ordinal) == true)
        {
            // With s3:ListBucket a missing key is a 404, so a 403 is a refusal: the bucket policy, the key's KMS key
            // (kms:Decrypt, a disabled key), an archived object. An origin failure like the one above, not a missing object.
            throw new OriginException(Id, OriginErrorKind.AccessDenied, $"S3 refused the read: {(int)ex.StatusCode} {ex.ErrorCode}: {ex.Message}", ex);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchBucket")
        {
            // A wrong bucket name or region is the node's configuration, not every key missing.
            throw new OriginException(Id, OriginErrorKind.NoSuchBucket, $"S3 answered {(int)ex.StatusCode} NoSuchBucket for bucket '{_bucket}'", ex);
        }
        catch (AmazonS3Exception ex) when ((int)ex.StatusCode is >= 400 and < 500)
        {
            // A missing key (NoSuchKey) is a 404, cached briefly; other refusals of this request pass on as they are.
            return Synthetic(ex.StatusCode, ex.StatusCode == HttpStatusCode.NotFound ? "Not found." : ex.ErrorCode ?? "Rejected by origin.");
        }
        catch (AmazonS3Exception ex)
        {
            throw new OriginException(Id, OriginErrorKind.Protocol, $"S3 answered {(int)ex.StatusCode} {ex.ErrorCode}", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OriginException(Id, OriginErrorKind.Timeout, $"no response within {ReadTimeout.TotalMilliseconds:0} ms", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or AmazonServiceException or AmazonClientException or IOException or FormatException)
        {
            // FormatException: the SDK could not parse the response's headers (e.g. an S3-compatible server's ETag that is
            // not hex): a malformed response, like any other.
            var kind = ex is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } || ex.InnerException is SocketException
                ? OriginErrorKind.Connect
                : OriginErrorKind.Protocol;
            throw new OriginException(Id, kind, ex.Message, ex);
        }

        var result = new List<KeyValuePair<string, StringValues>>();
        AddIfPresent(result, "Content-Type", response.Headers.ContentType);
        AddIfPresent(result, "ETag", response.ETag);
        if (response.LastModified is { } lm)
        {
            result.Add(new("Last-Modified", lm.ToUniversalTime().ToString("R")));
        }

        AddIfPresent(result, "Cache-Control", response.Headers.CacheControl);
        AddIfPresent(result, "Content-Encoding", response.Headers.ContentEncoding);
        AddIfPresent(result, "Content-Disposition", response.Headers.ContentDisposition);
        AddIfPresent(result, "Content-Language", response.Headers["Content-Language"]);
        if (response.ExpiresString is { Length: > 0 } expiresRaw && OriginHeaderValue.Servable(expiresRaw) is { } expires)
        {
            result.Add(new("Expires", expires));
        }

        AddIfPresent(result, "Content-Range", response.ContentRange);

        return new OriginResponse((int)response.HttpStatusCode, result, response.ContentLength, response.ResponseStream, response);
    }

    private static void AddIfPresent(List<KeyValuePair<string, StringValues>> headers, string name, string? value)
    {
        // Object metadata is the uploader's text: held to the same rule as an HTTP origin's header values.
        if (!string.IsNullOrEmpty(value) && PassedHeaders.Contains(name) && OriginHeaderValue.Servable(value) is { } servable)
        {
            headers.Add(new(name, servable));
        }
    }

    private static bool TryParseSingleRange(string value, out ByteRange range)
    {
        range = null!;
        if (!value.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase) || value.Contains(','))
        {
            return false;
        }

        var spec = value[6..].Split('-', 2);
        if (spec.Length == 2 && long.TryParse(spec[0], out var start) && (spec[1].Length == 0 || long.TryParse(spec[1], out _)))
        {
            range = new ByteRange(value[6..].Length > 0 ? "bytes=" + value[6..] : value);
            return start >= 0;
        }

        return false;
    }

    private static OriginResponse Synthetic(HttpStatusCode status, string text, params KeyValuePair<string, StringValues>[] extraHeaders) =>
        OriginResponse.Text((int)status, text, $"max-age={ErrorCacheSeconds}", extraHeaders);

    public async Task<OriginProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        // The probe reads a key that need not exist: any S3 answer (404 included)
        // proves the endpoint is reachable and our credentials are accepted; a connect error or timeout does not.
        try
        {
            using var response = await SendAsync(new OriginRequest { Method = "GET", Path = "/.edgecache-probe" }, cancellationToken).ConfigureAwait(false);
            return OriginProbeResult.Ok;
        }
        catch (OriginException ex)
        {
            return OriginProbeResult.Failed(ex);
        }
        catch (OperationCanceledException)
        {
            return OriginProbeResult.Failed(OriginErrorKind.Timeout.Label(), "no answer within the probe's timeout");
        }
    }

    public void Dispose() => _client.Dispose();
}
