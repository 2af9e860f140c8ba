using EdgeCache.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeCache.Tests.Unit;

public sealed class ReadinessCheckTests
{
    [Fact]
    public void The_started_check_is_ready_from_start_until_the_node_begins_to_stop()
    {
        var lifetime = new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance);
        var check = new HostStartedReadinessCheck(lifetime);

        Assert.False(check.Check().Ready);
        lifetime.NotifyStarted();
        Assert.True(check.Check().Ready);
        lifetime.StopApplication();
        var stopping = check.Check();
        Assert.False(stopping.Ready);
        Assert.Contains("shutting down", stopping.Detail, StringComparison.Ordinal);
    }
}
