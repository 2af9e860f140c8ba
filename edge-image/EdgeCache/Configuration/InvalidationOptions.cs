namespace EdgeCache.Configuration;

/// <summary>
/// The fleet's invalidation log in the control bucket, which this node follows. Off unless the section is present;
/// without it only the admin <c>/purge</c> of this node removes cached objects.
/// </summary>
public sealed class InvalidationOptions
{
    public string? Bucket { get; set; }

    /// <summary>The control bucket's AWS region (the primary region, not necessarily this node's).</summary>
    public string? Region { get; set; }

    /// <summary>How often the node asks whether the log changed (one conditional GET of its head).</summary>
    public int PollSeconds { get; set; } = 1;

    /// <summary>How long start-up waits to catch up with the log before serving viewers anyway.</summary>
    public int StartTimeoutSeconds { get; set; } = 10;

    /// <summary>How often the node rewrites its heartbeat, which edgecdn counts the fleet by.</summary>
    public int HeartbeatSeconds { get; set; } = 30;

    /// <summary>Any S3-compatible server instead of AWS (addressed by path).</summary>
    public string? ServiceUrl { get; set; }

    public string? KeyPrefix { get; set; }

    /// <summary>This node's name in acks and heartbeats. Default: the host name (the pod's name on Kubernetes).</summary>
    public string? NodeId { get; set; }
}
