namespace EdgeCache.Configuration;

/// <summary>Invalid configuration: start-up stops and every message is printed.</summary>
public sealed class ConfigurationException(string source, IReadOnlyList<string> errors)
    : Exception($"Invalid EdgeCache configuration ({source}):{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
