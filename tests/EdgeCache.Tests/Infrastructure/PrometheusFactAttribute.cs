namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A test that runs Debian's <c>prometheus</c> (and its <c>promtool</c>): skipped, saying why, only where neither is
/// installed. ./test.sh installs the package (apt-get install prometheus) when it is missing.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PrometheusFactAttribute : FactAttribute
{
    public PrometheusFactAttribute()
    {
        if (PrometheusServer.Binary("prometheus") is null || PrometheusServer.Binary("promtool") is null)
        {
            Skip = "prometheus and promtool are not installed and ./test.sh could not install them (apt-get install prometheus)";
        }
    }
}
