using EdgeCache.Syntax;
using Microsoft.Extensions.Options;

namespace EdgeCache.Configuration;

/// <summary>
/// Semantic checks the JSON Schema cannot express (cross references, orderings) and that must hold
/// after environment-variable overrides too. Every failure names the field at fault.
/// </summary>
public sealed class EdgeCacheOptionsValidator : IValidateOptions<EdgeCacheOptions>
{
    private static readonly HashSet<string> KnownMethods = new(StringComparer.Ordinal) { "GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE" };

    // Never forwarded from the viewer: Host would let a viewer pick a virtual host on the origin,
    // the rest are hop-by-hop or framing headers that Kestrel and HttpClient own.
    private static readonly HashSet<string> ForbiddenForwardHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Proxy-Authorization", "Proxy-Authenticate", "Content-Length", "Expect",
    };

    public ValidateOptionsResult Validate(string? name, EdgeCacheOptions options)
    {
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Collect(EdgeCacheOptions options)
    {
        var errors = new List<string>();

        if (!IsNodeName(options.Node.Name))
        {
            errors.Add($"node.name: {ConfigValueText.Quote(options.Node.Name)} must be 1-63 letters, digits, '.', '_' or '-' (it is sent in the Via and Cache-Status headers)");
        }

        if (!System.Net.IPAddress.TryParse(options.Listen.Address, out _))
        {
            errors.Add($"listen.address: '{options.Listen.Address}' is not an IP address");
        }

        CheckPort(errors, "listen.viewerPort", options.Listen.ViewerPort);
        CheckPort(errors, "listen.adminPort", options.Listen.AdminPort);
        if (options.Listen.ViewerPort == options.Listen.AdminPort)
        {
            errors.Add($"listen.adminPort: must differ from listen.viewerPort ({options.Listen.ViewerPort}); admin endpoints are never served to viewers");
        }

        if (options.Listen.HttpsRedirectPort is { } redirectPort)
        {
            CheckPort(errors, "listen.httpsRedirectPort", redirectPort);
            if (redirectPort == options.Listen.ViewerPort || redirectPort == options.Listen.AdminPort)
            {
                errors.Add($"listen.httpsRedirectPort: {redirectPort} must differ from listen.viewerPort and listen.adminPort");
            }
        }

        if (options.Listen.IoThreads is < 0 or > ListenOptions.MaxIoThreads)
        {
            errors.Add($"listen.ioThreads: must be from 0 (one per CPU) to {ListenOptions.MaxIoThreads}, not {options.Listen.IoThreads}");
        }

        if (options.Listen.NotSentLowWaterBytes is < 0 or > ListenOptions.MaxNotSentLowWaterBytes)
        {
            errors.Add($"listen.notSentLowWaterBytes: must be from 0 (the kernel's default) to {ListenOptions.MaxNotSentLowWaterBytes}, not {options.Listen.NotSentLowWaterBytes}");
        }

        if (options.Limits.MaxRequestHeadersBytes < 1024)
        {
            errors.Add("limits.maxRequestHeadersBytes: must be at least 1024");
        }

        if (options.Limits.MaxRequestLineBytes < 256)
        {
            errors.Add("limits.maxRequestLineBytes: must be at least 256");
        }

        if (options.Limits.MaxRequestBodyBytes < 0)
        {
            errors.Add("limits.maxRequestBodyBytes: must not be negative");
        }

        if (options.Limits.MinRequestBodyBytesPerSecond < 0)
        {
            errors.Add($"limits.minRequestBodyBytesPerSecond: must not be negative (0 turns the minimum off), not {options.Limits.MinRequestBodyBytesPerSecond}");
        }

        // Kestrel checks data rates once a second, so it needs a grace period longer than that.
        if (options.Limits.RequestBodyGracePeriodSeconds is < 2 or > 3600)
        {
            errors.Add($"limits.requestBodyGracePeriodSeconds: {options.Limits.RequestBodyGracePeriodSeconds} is outside 2-3600");
        }

        if (options.Limits.ViewerSendTimeoutSeconds is < 1 or > 86400)
        {
            errors.Add($"limits.viewerSendTimeoutSeconds: {options.Limits.ViewerSendTimeoutSeconds} is outside 1-86400");
        }

        if (options.Cache.MemoryBytes < 1024 * 1024)
        {
            errors.Add($"cache.memoryBytes: {options.Cache.MemoryBytes} is below the minimum of 1048576 (1 MiB)");
        }

        if (options.Cache.MaxObjectBytes < 1024)
        {
            errors.Add($"cache.maxObjectBytes: {options.Cache.MaxObjectBytes} is below the minimum of 1024");
        }
        else if (options.Cache.MaxObjectBytes > options.Cache.MemoryBytes)
        {
            errors.Add($"cache.maxObjectBytes: {options.Cache.MaxObjectBytes} exceeds cache.memoryBytes ({options.Cache.MemoryBytes})");
        }

        if (options.Cache.HeuristicFraction is <= 0 or > 1 || double.IsNaN(options.Cache.HeuristicFraction))
        {
            errors.Add($"cache.heuristicFraction: {options.Cache.HeuristicFraction} must be in (0, 1]");
        }

        if (!HttpToken.IsToken(options.Cache.TargetedCacheControl))
        {
            errors.Add($"cache.targetedCacheControl: '{options.Cache.TargetedCacheControl}' is not a header field name (an RFC 9110 token)");
        }
        else if (options.Cache.TargetedCacheControl.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase)
            || options.Cache.TargetedCacheControl.Equals("CDN-Cache-Control", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"cache.targetedCacheControl: '{options.Cache.TargetedCacheControl}' already has a meaning; name a field for this CDN alone (default EdgeCache-Cache-Control)");
        }

        if (options.Cache.MaxVariantsPerUrl is < 1 or > 10000)
        {
            errors.Add($"cache.maxVariantsPerUrl: {options.Cache.MaxVariantsPerUrl} is outside 1-10000");
        }

        if (options.Cache.Disk.Directory is { } diskDir)
        {
            if (!Path.IsPathFullyQualified(diskDir))
            {
                errors.Add($"cache.disk.directory: '{diskDir}' must be an absolute path");
            }

            if (options.Cache.Disk.MaxBytes < 1024 * 1024)
            {
                errors.Add($"cache.disk.maxBytes: {options.Cache.Disk.MaxBytes} is below the minimum of 1048576 (1 MiB)");
            }

            if (options.Cache.Disk.MaxEntries is < 1)
            {
                errors.Add($"cache.disk.maxEntries: {options.Cache.Disk.MaxEntries} must be at least 1");
            }

            if (options.Cache.Disk.RetryAfterErrorSeconds < 1)
            {
                errors.Add("cache.disk.retryAfterErrorSeconds: must be at least 1");
            }
        }

        if (options.Readiness.ProbeIntervalSeconds is < 1 or > 3600)
        {
            errors.Add($"readiness.probeIntervalSeconds: {options.Readiness.ProbeIntervalSeconds} must be between 1 and 3600");
        }

        if (options.Shutdown.GracePeriodSeconds is < 0 or > 3600)
        {
            errors.Add($"shutdown.gracePeriodSeconds: {options.Shutdown.GracePeriodSeconds} must be between 0 and 3600");
        }

        if (options.Invalidation is { } invalidation)
        {
            CheckInvalidation(errors, invalidation, options.Node);
        }

        if (options.AdminToken is { Length: < 16 })
        {
            errors.Add("EDGECACHE_ADMIN_TOKEN: the purge API token must be at least 16 characters");
        }

        var originIds = new HashSet<string>(StringComparer.Ordinal);
        if (options.Origins.Count == 0)
        {
            errors.Add("origins: at least one origin is required");
        }

        for (var i = 0; i < options.Origins.Count; i++)
        {
            CheckOrigin(errors, $"origins[{i}]", options.Origins[i], originIds);
        }

        for (var i = 0; i < options.Origins.Count; i++)
        {
            if (options.Origins[i].Type == "group")
            {
                CheckGroup(errors, $"origins[{i}]", options.Origins[i], options.Origins);
            }
        }

        if (options.Behaviors.Count == 0)
        {
            errors.Add("behaviors: at least one behavior is required; the last one is the default and must have pathPattern '*'");
        }

        for (var i = 0; i < options.Behaviors.Count; i++)
        {
            CheckBehavior(errors, $"behaviors[{i}]", options.Behaviors[i], i == options.Behaviors.Count - 1, originIds);
        }

        return errors;
    }

    private static void CheckInvalidation(List<string> errors, InvalidationOptions invalidation, NodeOptions node)
    {
        if (string.IsNullOrEmpty(invalidation.Bucket))
        {
            errors.Add("invalidation.bucket: required (the control bucket holding the invalidation log)");
        }
        else if (!Amazon.S3.Util.AmazonS3Util.ValidateV2Bucket(invalidation.Bucket))
        {
            errors.Add($"invalidation.bucket: '{invalidation.Bucket}' is not an S3 bucket name");
        }

        if (string.IsNullOrEmpty(invalidation.Region))
        {
            errors.Add("invalidation.region: required (the control bucket's AWS region)");
        }
        else if (!IsAwsRegion(invalidation.Region))
        {
            errors.Add($"invalidation.region: {ConfigValueText.Quote(invalidation.Region)} is not an AWS region such as us-east-1 (it is signed into every request's Authorization header)");
        }

        if (invalidation.PollSeconds is < 1 or > 3600)
        {
            errors.Add($"invalidation.pollSeconds: {invalidation.PollSeconds} must be between 1 and 3600");
        }

        if (invalidation.StartTimeoutSeconds is < 0 or > 600)
        {
            errors.Add($"invalidation.startTimeoutSeconds: {invalidation.StartTimeoutSeconds} must be between 0 and 600");
        }

        if (invalidation.HeartbeatSeconds is < 1 or > 3600)
        {
            errors.Add($"invalidation.heartbeatSeconds: {invalidation.HeartbeatSeconds} must be between 1 and 3600");
        }

        if (invalidation.ServiceUrl is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
        {
            errors.Add($"invalidation.serviceUrl: '{url}' is not an absolute http:// or https:// URL");
        }

        if (invalidation.KeyPrefix is { } prefix && (prefix.StartsWith('/') || prefix.Contains("..", StringComparison.Ordinal)))
        {
            errors.Add($"invalidation.keyPrefix: '{prefix}' must not start with '/' or contain '..'");
        }

        if (invalidation.NodeId is { } nodeId && !InvalidationLog.ControlBucketKeys.IsSegment(nodeId))
        {
            errors.Add($"invalidation.nodeId: '{nodeId}' must be 1-128 letters, digits, '-', '_' or '.' (it names the node's ack and heartbeat objects)");
        }

        if (string.IsNullOrEmpty(node.Region))
        {
            errors.Add("node.region: required with invalidation (acks and heartbeats are kept per region)");
        }
        else if (!InvalidationLog.ControlBucketKeys.IsSegment(node.Region))
        {
            errors.Add($"node.region: '{node.Region}' must be letters, digits, '-', '_' or '.' with invalidation (it names the node's ack and heartbeat objects)");
        }
    }

    private static void CheckPort(List<string> errors, string field, int port)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add($"{field}: {port} is not a TCP port (1-65535)");
        }
    }

    private static void CheckOrigin(List<string> errors, string at, OriginOptions origin, HashSet<string> ids)
    {
        if (string.IsNullOrEmpty(origin.Id) || !IsOriginId(origin.Id))
        {
            errors.Add($"{at}.id: '{origin.Id}' must be 1-63 lower-case letters, digits or '-', starting with a letter or digit");
        }
        else if (!ids.Add(origin.Id))
        {
            errors.Add($"{at}.id: '{origin.Id}' is used by another origin; ids must be unique");
        }

        if (origin.ReadTimeoutMs < 1)
        {
            errors.Add($"{at}.readTimeoutMs: must be at least 1");
        }

        switch (origin.Type)
        {
            case "http":
                if (string.IsNullOrEmpty(origin.Url))
                {
                    errors.Add($"{at}.url: required for an http origin");
                }
                else if (!Uri.TryCreate(origin.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                {
                    errors.Add($"{at}.url: '{origin.Url}' is not an absolute http:// or https:// URL");
                }
                else if (!string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
                {
                    errors.Add($"{at}.url: '{origin.Url}' must not carry user info, a query or a fragment");
                }

                if (origin.HostHeader is { } host && !IsHost(host))
                {
                    errors.Add($"{at}.hostHeader: {ConfigValueText.Quote(host)} is not a host name or address with an optional port (it is sent as the Host header)");
                }

                if (origin.ConnectTimeoutMs < 1)
                {
                    errors.Add($"{at}.connectTimeoutMs: must be at least 1");
                }

                if (origin.MaxConnections < 1)
                {
                    errors.Add($"{at}.maxConnections: must be at least 1");
                }

                if (origin.MaxPassThroughConnections is < 1 or > 65536)
                {
                    errors.Add($"{at}.maxPassThroughConnections: {origin.MaxPassThroughConnections} is outside 1-65536");
                }

                if (origin.HealthPath is { } hp && !hp.StartsWith('/'))
                {
                    errors.Add($"{at}.healthPath: '{hp}' must start with '/'");
                }

                break;
            case "s3":
                if (string.IsNullOrEmpty(origin.Bucket))
                {
                    errors.Add($"{at}.bucket: required for an s3 origin");
                }

                if (string.IsNullOrEmpty(origin.Region))
                {
                    errors.Add($"{at}.region: required for an s3 origin");
                }
                else if (!IsAwsRegion(origin.Region))
                {
                    errors.Add($"{at}.region: {ConfigValueText.Quote(origin.Region)} is not an AWS region such as us-east-1 (it is signed into every request's Authorization header)");
                }

                if (origin.ServiceUrl is { } su && !Uri.TryCreate(su, UriKind.Absolute, out _))
                {
                    errors.Add($"{at}.serviceUrl: '{su}' is not an absolute URL");
                }

                if (origin.KeyPrefix is { } kp && (kp.StartsWith('/') || kp.Contains("..", StringComparison.Ordinal)))
                {
                    errors.Add($"{at}.keyPrefix: '{kp}' must not start with '/' or contain '..'");
                }

                break;
            case "group":
                break;
            default:
                errors.Add($"{at}.type: '{origin.Type}' is not an origin type (expected \"http\", \"s3\" or \"group\")");
                break;
        }
    }

    private static void CheckGroup(List<string> errors, string at, OriginOptions group, List<OriginOptions> origins)
    {
        foreach (var (field, member) in new[] { ("primary", group.Primary), ("secondary", group.Secondary) })
        {
            var target = origins.FirstOrDefault(o => o.Id == member);
            if (target is null)
            {
                errors.Add($"{at}.{field}: '{member}' is not a configured origin (known: {string.Join(", ", origins.Where(o => o.Type != "group").Select(o => o.Id).Order())})");
            }
            else if (target.Type == "group")
            {
                errors.Add($"{at}.{field}: '{member}' is a group; a group's members must be http or s3 origins");
            }
        }

        if (group.Primary is not null && group.Primary == group.Secondary)
        {
            errors.Add($"{at}.secondary: must differ from primary ('{group.Primary}')");
        }

        for (var i = 0; i < group.FailoverStatusCodes.Count; i++)
        {
            if (group.FailoverStatusCodes[i] is < 400 or > 599)
            {
                errors.Add($"{at}.failoverStatusCodes[{i}]: {group.FailoverStatusCodes[i]} is not a 4xx or 5xx status");
            }
        }

        var cb = group.CircuitBreaker;
        if (cb.FailureRatio is <= 0 or > 1 || double.IsNaN(cb.FailureRatio))
        {
            errors.Add($"{at}.circuitBreaker.failureRatio: {cb.FailureRatio} must be in (0, 1]");
        }

        if (cb.MinimumThroughput < 2)
        {
            errors.Add($"{at}.circuitBreaker.minimumThroughput: {cb.MinimumThroughput} must be at least 2");
        }

        if (cb.SamplingSeconds < 1)
        {
            errors.Add($"{at}.circuitBreaker.samplingSeconds: must be at least 1");
        }

        if (cb.BreakSeconds < 1)
        {
            errors.Add($"{at}.circuitBreaker.breakSeconds: must be at least 1");
        }
    }

    private static void CheckBehavior(List<string> errors, string at, BehaviorOptions behavior, bool isLast, HashSet<string> originIds)
    {
        if (isLast && behavior.PathPattern != "*")
        {
            errors.Add($"{at}.pathPattern: the last behavior is the default and must be '*' (found '{behavior.PathPattern}')");
        }
        else if (!isLast && behavior.PathPattern == "*")
        {
            errors.Add($"{at}.pathPattern: '*' matches every path, so the behaviors after it could never match; only the last behavior may be '*'");
        }
        else if (behavior.PathPattern != "*" && !behavior.PathPattern.StartsWith('/'))
        {
            errors.Add($"{at}.pathPattern: '{behavior.PathPattern}' must start with '/'");
        }

        if (!originIds.Contains(behavior.Origin))
        {
            errors.Add($"{at}.origin: '{behavior.Origin}' is not a configured origin (known: {string.Join(", ", originIds.Order())})");
        }

        if (behavior.MinTtlSeconds < 0)
        {
            errors.Add($"{at}.minTtlSeconds: must not be negative");
        }

        if (behavior.MinTtlSeconds > behavior.DefaultTtlSeconds)
        {
            errors.Add($"{at}.minTtlSeconds: {behavior.MinTtlSeconds} is greater than defaultTtlSeconds ({behavior.DefaultTtlSeconds})");
        }

        if (behavior.DefaultTtlSeconds > behavior.MaxTtlSeconds)
        {
            errors.Add($"{at}.defaultTtlSeconds: {behavior.DefaultTtlSeconds} is greater than maxTtlSeconds ({behavior.MaxTtlSeconds})");
        }

        if (behavior.StaleIfErrorSeconds < 0)
        {
            errors.Add($"{at}.staleIfErrorSeconds: must not be negative");
        }

        foreach (var method in behavior.AllowedMethods)
        {
            if (!KnownMethods.Contains(method))
            {
                errors.Add($"{at}.allowedMethods: '{method}' is not one of {string.Join(", ", KnownMethods)}");
            }
        }

        if (behavior.AllowedMethods.Count > 0 && !(behavior.AllowedMethods.Contains("GET") && behavior.AllowedMethods.Contains("HEAD")))
        {
            errors.Add($"{at}.allowedMethods: must include GET and HEAD");
        }

        var key = behavior.CacheKey;
        switch (key.QueryStrings)
        {
            case "none" or "all":
                if (key.QueryStringNames.Count > 0)
                {
                    errors.Add($"{at}.cacheKey.queryStringNames: only used with queryStrings \"allowList\" (found \"{key.QueryStrings}\")");
                }

                break;
            case "allowList":
                if (key.QueryStringNames.Count == 0)
                {
                    errors.Add($"{at}.cacheKey.queryStringNames: queryStrings \"allowList\" needs at least one name");
                }

                break;
            default:
                errors.Add($"{at}.cacheKey.queryStrings: '{key.QueryStrings}' is not one of \"none\", \"all\", \"allowList\"");
                break;
        }

        CheckHeaders(errors, $"{at}.cacheKey.headers", key.Headers);
        CheckHeaders(errors, $"{at}.originRequest.headers", behavior.OriginRequest.Headers);
        CheckCookies(errors, $"{at}.cacheKey.cookies", key.Cookies);
        CheckCookies(errors, $"{at}.originRequest.cookies", behavior.OriginRequest.Cookies);

        if (behavior.PathPattern.Length > 0 && !PathPattern.IsValid(behavior.PathPattern))
        {
            errors.Add($"{at}.pathPattern: '{behavior.PathPattern}' contains characters not allowed in a path pattern");
        }
    }

    private static void CheckHeaders(List<string> errors, string at, List<string> headers)
    {
        for (var i = 0; i < headers.Count; i++)
        {
            var header = headers[i];
            if (!HttpToken.IsToken(header))
            {
                errors.Add($"{at}[{i}]: '{header}' is not a valid header name");
            }
            else if (ForbiddenForwardHeaders.Contains(header))
            {
                errors.Add($"{at}[{i}]: '{header}' is never forwarded from viewers" + (header.Equals("Host", StringComparison.OrdinalIgnoreCase) ? "; set origins[].hostHeader to choose the Host the origin sees" : " (hop-by-hop or framing header)"));
            }
        }
    }

    private static void CheckCookies(List<string> errors, string at, List<string> cookies)
    {
        for (var i = 0; i < cookies.Count; i++)
        {
            if (!HttpToken.IsToken(cookies[i]))
            {
                errors.Add($"{at}[{i}]: '{cookies[i]}' is not a valid cookie name");
            }
        }
    }

    /// <summary>The schema's pattern: a token that is also a valid Via pseudonym and Cache-Status cache name.</summary>
    private static bool IsNodeName(string name) =>
        name.Length is >= 1 and <= 63 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>
    /// A Host header value (RFC 9110 7.2): a name, an IPv4 address or a bracketed IPv6 address, and an optional port.
    /// Anything else (a space, a line break, a path, user info) would make every request to the origin fail.
    /// </summary>
    private static bool IsHost(string host)
    {
        if (host.Length == 0 || !host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or ':' or '[' or ']'))
        {
            return false;
        }

        return Uri.TryCreate("http://" + host + "/", UriKind.Absolute, out var uri) && uri.AbsolutePath == "/" && uri.UserInfo.Length == 0;
    }

    /// <summary>"us-east-1", "us-gov-west-1", "eu-central-2": the region part of a request's signing scope.</summary>
    private static bool IsAwsRegion(string region)
    {
        var parts = region.Split('-');
        return parts.Length >= 3 && parts[0].Length == 2 && parts.All(p => p.Length > 0)
            && parts[..^1].All(p => p.All(char.IsAsciiLetterLower)) && parts[^1].All(char.IsAsciiDigit);
    }

    private static bool IsOriginId(string id)
    {
        if (id.Length is 0 or > 63 || id[0] == '-')
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }
}
