using System.Diagnostics;
using System.Reflection;
using EdgeCache.Proxy;

namespace EdgeCache.Tests.Infrastructure;

/// <summary>
/// A theory about the server as it ships: skipped when EdgeCache was compiled without optimizations (a Debug build
/// allocates every async state machine, so allocation figures mean nothing there). ./test.sh builds Release.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class OptimizedBuildTheoryAttribute : TheoryAttribute
{
    public OptimizedBuildTheoryAttribute()
    {
        if (typeof(EdgeProxy).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled == true)
        {
            Skip = "EdgeCache is a Debug build: run with -c Release (./test.sh does)";
        }
    }
}
