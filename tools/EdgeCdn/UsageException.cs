namespace EdgeCdn;

/// <summary>Bad input found before anything was written: one line to stderr, exit <see cref="ExitCodes.Usage"/>.</summary>
public sealed class UsageException(string message) : Exception(message);
