using Amazon;
using Amazon.Runtime;
using Amazon.S3;

namespace EdgeCache.InvalidationLog;

/// <summary>Which bucket holds the log, and how to reach it: an AWS region, or any S3-compatible server by URL.</summary>
public sealed record ControlBucketEndpoint(string Bucket, string Region, string? ServiceUrl = null, string? KeyPrefix = null)
{
    /// <summary>
    /// A client signed by the SDK's default credential chain (environment, web identity on EKS, instance profile).
    /// With <see cref="ServiceUrl"/> it addresses the bucket by path, as S3-compatible servers expect.
    /// </summary>
    public AmazonS3Client CreateClient(TimeSpan? timeout = null, int? maxErrorRetry = null)
    {
        var config = new AmazonS3Config
        {
            // Only when required: S3-compatible servers reject checksum modes they do not know.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (timeout is { } t)
        {
            config.Timeout = t;
        }

        if (maxErrorRetry is { } retries)
        {
            config.MaxErrorRetry = retries;
        }

        if (ServiceUrl is { } serviceUrl)
        {
            config.ServiceURL = serviceUrl;
            config.AuthenticationRegion = Region;
            config.ForcePathStyle = true;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(Region);
        }

        return new AmazonS3Client(config);
    }
}
