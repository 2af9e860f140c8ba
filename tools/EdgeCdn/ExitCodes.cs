namespace EdgeCdn;

/// <summary>What edgecdn's exit status means; scripts and CI steps branch on it.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The control bucket could not be read or written (network, credentials, permissions).</summary>
    public const int Failed = 1;

    /// <summary>Bad input: nothing was written.</summary>
    public const int Usage = 2;

    /// <summary>--timeout passed before every live node acked; the invalidation stays in the log and still applies.</summary>
    public const int TimedOut = 3;

    public const int Interrupted = 130;
}
