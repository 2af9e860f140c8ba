using EdgeCache.Configuration;
using EdgeCache.FastPath;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeCache.Tests.Unit;

/// <summary>
/// The fast path's one switch (listen.fastPath, or EDGECACHE_FAST_PATH over it): off turns every part off whatever its
/// own option says; on leaves each to its option.
/// </summary>
public sealed class LinuxFastPathTests
{
    [Fact]
    public void Off_turns_every_part_off()
    {
        var off = LinuxFastPath.For(new ListenOptions { FastPath = false });

        Assert.False(off.Enabled);
        Assert.False(off.DirectBodySend);
        Assert.False(off.MappedBodies);
        Assert.False(off.LargeBlocks);

        var services = new ServiceCollection().AddLinuxFastPath(off);
        Assert.DoesNotContain(services, s => s.ServiceType == typeof(IConnectionListenerFactory));
        Assert.DoesNotContain(services, s => s.ServiceType == typeof(IMemoryPoolFactory<byte>));
    }

    [Fact]
    public void On_leaves_each_part_to_its_listen_option()
    {
        var defaults = LinuxFastPath.For(new ListenOptions());
        Assert.True(defaults.Enabled);
        Assert.True(defaults.DirectBodySend);
        Assert.Equal(OperatingSystem.IsLinux(), defaults.MappedBodies);
        Assert.True(defaults.LargeBlocks);

        // Kestrel's own socket transport serves every port: the fast path registers no transport of its own.
        Assert.DoesNotContain(new ServiceCollection().AddLinuxFastPath(defaults), s => s.ServiceType == typeof(IConnectionListenerFactory));

        var chosen = LinuxFastPath.For(new ListenOptions { DirectBodySend = false });
        Assert.False(chosen.DirectBodySend);
        Assert.False(chosen.MappedBodies);
        Assert.True(chosen.LargeBlocks);
    }

    [Theory]
    [InlineData(null, null, true)]
    [InlineData(false, null, false)]
    [InlineData(true, "", true)]
    [InlineData(true, "off", false)]
    [InlineData(false, "on", true)]
    public void The_variable_overrides_the_config(bool? configured, string? variable, bool expected)
    {
        var file = Path.Combine(Path.GetTempPath(), $"edgecache-fastpath-{Guid.NewGuid():N}.json");
        var listen = configured is { } c ? $$""","listen":{"fastPath":{{(c ? "true" : "false")}}}""" : "";
        File.WriteAllText(file, $$"""{"origins":[{"id":"o","type":"http","url":"http://x"}],"behaviors":[{"pathPattern":"*","origin":"o"}]{{listen}}}""");
        try
        {
            var environment = new Dictionary<string, string?>();
            if (variable is not null)
            {
                environment[FastPathSwitch.Variable] = variable;
            }

            var options = EdgeCacheConfigLoader.Load(file, environment);

            Assert.Equal(expected, options.Listen.FastPath);
            Assert.Equal(expected, LinuxFastPath.For(options.Listen).Enabled);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("no")]
    [InlineData("OFF")]
    [InlineData("false")]
    public void A_value_that_is_neither_on_nor_off_is_refused_with_the_variable_named(string value)
    {
        var error = Assert.Throws<ConfigurationException>(() => FastPathSwitch.Parse(value));
        Assert.StartsWith($"EDGECACHE_FAST_PATH: '{value}' is not 'on' or 'off'", Assert.Single(error.Errors), StringComparison.Ordinal);
    }
}
