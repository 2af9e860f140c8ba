using System.CommandLine;
using System.Text.Json;
using EdgeCache.InvalidationLog;

namespace EdgeCdn;

/// <summary>
/// Where the invalidation log lives, from the global options: <c>--stack NAME</c> (its outputs <c>controlBucket</c> and
/// <c>controlBucketRegion</c>), or <c>--bucket B --region R</c>, or <c>--endpoint URL --bucket B</c> for any
/// S3-compatible server. Credentials come from the AWS SDK's default chain (profile, environment, SSO).
/// </summary>
public sealed class LogLocation
{
    public const string BucketOutput = "controlBucket";
    public const string RegionOutput = "controlBucketRegion";

    public Option<string?> Stack { get; } = new("--stack") { Description = "Pulumi stack whose outputs name the control bucket (runs 'pulumi stack output --json').", Recursive = true, HelpName = "NAME" };

    public Option<string?> Bucket { get; } = new("--bucket") { Description = "The control bucket, instead of --stack.", Recursive = true, HelpName = "B" };

    public Option<string?> Region { get; } = new("--region") { Description = "The control bucket's AWS region (with --bucket).", Recursive = true, HelpName = "R" };

    public Option<string?> Endpoint { get; } = new("--endpoint") { Description = "An S3-compatible server's URL (with --bucket), addressed by path.", Recursive = true, HelpName = "URL" };

    public Option<string?> KeyPrefix { get; } = new("--key-prefix") { Description = "The log's key prefix in the bucket, if the nodes' invalidation.keyPrefix sets one.", Recursive = true, HelpName = "P" };

    public IEnumerable<Option> Options => [Stack, Bucket, Region, Endpoint, KeyPrefix];

    /// <summary>Checks the options; throws <see cref="UsageException"/> before anything is read or written.</summary>
    public async Task<ControlBucketEndpoint> ResolveAsync(ParseResult parse, ToolConsole console, CancellationToken cancellationToken)
    {
        var stack = parse.GetValue(Stack);
        var bucket = parse.GetValue(Bucket);
        var region = parse.GetValue(Region);
        var endpoint = parse.GetValue(Endpoint);
        var keyPrefix = parse.GetValue(KeyPrefix);
        if (keyPrefix is not null && (keyPrefix.StartsWith('/') || keyPrefix.Contains("..", StringComparison.Ordinal)))
        {
            throw new UsageException($"--key-prefix: '{keyPrefix}' must not start with '/' or contain '..'");
        }

        if (endpoint is not null && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            throw new UsageException($"--endpoint: '{endpoint}' is not an absolute http:// or https:// URL");
        }

        if (stack is not null)
        {
            if (bucket is not null || region is not null)
            {
                throw new UsageException("--stack: give --stack, or --bucket with --region, not both");
            }

            if (stack.Length == 0)
            {
                throw new UsageException("--stack: the stack name is empty");
            }

            var outputs = await PulumiStackOutputs.ReadAsync(console.Pulumi, stack, cancellationToken).ConfigureAwait(false);
            bucket = StringOutput(outputs, stack, BucketOutput);
            region = StringOutput(outputs, stack, RegionOutput);
        }
        else if (bucket is null)
        {
            throw new UsageException("where is the invalidation log? give --stack NAME, or --bucket B --region R, or --endpoint URL --bucket B");
        }
        else if (region is null && endpoint is null)
        {
            throw new UsageException("--region: required with --bucket (the control bucket's AWS region)");
        }

        if (!Amazon.S3.Util.AmazonS3Util.ValidateV2Bucket(bucket))
        {
            throw new UsageException($"--bucket: '{bucket}' is not an S3 bucket name");
        }

        return new ControlBucketEndpoint(bucket, region ?? "us-east-1", endpoint, keyPrefix);
    }

    private static string StringOutput(Dictionary<string, JsonElement> outputs, string stack, string name)
    {
        if (!outputs.TryGetValue(name, out var value))
        {
            var known = outputs.Count == 0 ? "it has none" : "it has " + string.Join(", ", outputs.Keys.Order(StringComparer.Ordinal));
            throw new UsageException($"--stack {stack}: no output '{name}' ({known}); deploy the invalidation log with 'pulumi up', or give --bucket and --region");
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text)
        {
            throw new UsageException($"--stack {stack}: output '{name}' is not a non-empty string");
        }

        return text;
    }
}
