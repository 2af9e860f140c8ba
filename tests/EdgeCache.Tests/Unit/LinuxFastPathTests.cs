using EdgeCache.Configuration;
using EdgeCache.FastPath;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeCache.Tests.Unit;

/// <summary>The fast path's one switch: off turns every part off whatever its own option says; on leaves each to its option.</summary>
public sealed class LinuxFastPathTests
{
    [Fact]
    public void Off_turns_every_part_off()
    {
        var off = LinuxFastPath.For(new ListenOptions(), "off");

        Assert.False(off.Enabled);
        Assert.False(off.SharedEpoll);
        Assert.False(off.DirectBodySend);
        Assert.False(off.MappedBodies);
        Assert.False(off.LargeBlocks);

        var services = new ServiceCollection().AddLinuxFastPath(off);
        Assert.DoesNotContain(services, s => s.ServiceType == typeof(IConnectionListenerFactory));
        Assert.DoesNotContain(services, s => s.ServiceType == typeof(IMemoryPoolFactory<byte>));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("on")]
    public void On_leaves_each_part_to_its_listen_option(string? value)
    {
        var defaults = LinuxFastPath.For(new ListenOptions(), value);
        Assert.True(defaults.Enabled);
        Assert.Equal(OperatingSystem.IsLinux(), defaults.SharedEpoll);
        Assert.True(defaults.DirectBodySend);
        Assert.Equal(OperatingSystem.IsLinux(), defaults.MappedBodies);
        Assert.True(defaults.LargeBlocks);

        var chosen = LinuxFastPath.For(new ListenOptions { SharedIo = false, DirectBodySend = false }, value);
        Assert.False(chosen.SharedEpoll);
        Assert.False(chosen.DirectBodySend);
        Assert.False(chosen.MappedBodies);
        Assert.True(chosen.LargeBlocks);
    }

    [Fact]
    public void A_value_that_is_neither_on_nor_off_is_refused_with_the_variable_named()
    {
        var error = Assert.Throws<ArgumentException>(() => LinuxFastPath.For(new ListenOptions(), "no"));
        Assert.StartsWith("EDGECACHE_FAST_PATH: 'no'", error.Message, StringComparison.Ordinal);
    }
}
