namespace EdgeCache.Configuration;

/// <summary>
/// <c>EDGECACHE_FAST_PATH=on|off</c>: overrides listen.fastPath, so the fast path can be turned off on a running fleet
/// (or a test run) without editing the config. Any other value is an error naming the variable.
/// </summary>
public static class FastPathSwitch
{
    public const string Variable = "EDGECACHE_FAST_PATH";

    /// <summary>True for <c>on</c>, false for <c>off</c>, null when unset or empty.</summary>
    /// <exception cref="ConfigurationException">Any other value.</exception>
    public static bool? Parse(string? value) =>
        TryParse(value, out var enabled) ? enabled : throw new ConfigurationException(Variable, [Error(value!)]);

    internal static bool TryParse(string? value, out bool? enabled)
    {
        enabled = value switch
        {
            "on" => true,
            "off" => false,
            _ => null,
        };
        return enabled is not null || string.IsNullOrEmpty(value);
    }

    internal static string Error(string value) => $"{Variable}: {ConfigValueText.Quote(value)} is not 'on' or 'off'";
}
