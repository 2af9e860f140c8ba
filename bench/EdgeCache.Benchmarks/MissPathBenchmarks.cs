using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using EdgeCache.Proxy;
using Microsoft.AspNetCore.Http;

namespace EdgeCache.Benchmarks;

/// <summary>
/// The viewer miss path: every operation asks for a key the node does not hold, through the real
/// <see cref="EdgeProxy.InvokeAsync"/>, FetchCoordinator and HttpOrigin (SocketsHttpHandler, keep-alive) to a Kestrel
/// origin on a loopback socket in a separate process (<see cref="OriginProcess"/>), so only the node's allocations
/// are counted. The memory tier is 8 MiB so it evicts as it fills (a steady state, as a node under a miss load is) instead
/// of growing through the run; the paths are built before the run and reused in a cycle far longer than what the tier
/// holds, so every operation is a miss and <see cref="Harness"/> (next path, reset, empty delegate) allocates nothing.
/// </summary>
[MemoryDiagnoser]
public class MissPathBenchmarks
{
    /// <summary>Paths in the cycle: about 80 times what the 8 MiB tier holds (~2.5 KB per 1 KiB entry).</summary>
    private const int PathCount = 1 << 18;

    private const long MemoryBytes = 8L * 1024 * 1024;

    private static readonly RequestDelegate Empty = static _ => Task.CompletedTask;

    private readonly string[] _paths = new string[PathCount];
    private OriginProcess _origin = null!;
    private EdgeFixture _fixture = null!;
    private EdgeProxy _proxy = null!;
    private BenchContext _get = null!;
    private Activity _activity = null!;
    private int _next;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void Cleanup()
    {
        try
        {
            // Every measured request must have been a miss: no hit, pass or error in the node's own counters.
            var requests = _fixture.Metrics.Requests;
            var misses = requests.WithLabels("miss").Value;
            var others = requests.WithLabels("hit").Value + requests.WithLabels("pass").Value + requests.WithLabels("error").Value + requests.WithLabels("stale").Value;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"// miss check: {misses} misses, {others} other outcomes, memory tier {_fixture.Store.Count} objects / {_fixture.Store.Bytes} bytes"));
            if (others > 0)
            {
                throw new InvalidOperationException($"{others} requests were not misses");
            }
        }
        finally
        {
            _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _origin.Dispose();
        }
    }

    /// <summary>Next path, reset of the reused context, an empty request delegate: what the harness itself costs.</summary>
    [Benchmark]
    public Task Harness()
    {
        _get.SetPath(NextPath());
        _get.Reset();
        return Empty(_get.Context);
    }

    /// <summary>GET of a new key: origin fetch, 1 KiB body stored in the memory tier and served to the viewer.</summary>
    [Benchmark]
    public Task Miss1KiB()
    {
        _get.SetPath(NextPath());
        _get.Reset();
        return _proxy.InvokeAsync(_get.Context);
    }

    /// <summary><see cref="Harness"/> with an <see cref="Activity"/> current, as in <see cref="Miss1KiBTraced"/>.</summary>
    [Benchmark]
    public Task HarnessTraced()
    {
        _get.SetPath(NextPath());
        _get.Reset();
        Activity.Current = _activity;
        var task = Empty(_get.Context);
        Activity.Current = null;
        return task;
    }

    /// <summary>
    /// <see cref="Miss1KiB"/> with an <see cref="Activity"/> current, as under Kestrel: ASP.NET Core's hosting starts one
    /// per request whenever logging is on, and metrics (prometheus-net exemplars) read it. One activity is reused, so its
    /// own cost is not counted; setting the async-local is counted in <see cref="HarnessTraced"/> too.
    /// </summary>
    [Benchmark]
    public Task Miss1KiBTraced()
    {
        _get.SetPath(NextPath());
        _get.Reset();
        Activity.Current = _activity;
        var task = _proxy.InvokeAsync(_get.Context);
        Activity.Current = null;
        return task;
    }

    private string NextPath()
    {
        var path = _paths[_next];
        _next = (_next + 1) & (PathCount - 1);
        return path;
    }

    private async Task SetupAsync()
    {
        for (var i = 0; i < PathCount; i++)
        {
            _paths[i] = string.Create(CultureInfo.InvariantCulture, $"/m/{i:D7}");
        }

        _activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn").SetIdFormat(ActivityIdFormat.W3C).Start();
        _activity.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        Activity.Current = null;
        _origin = OriginProcess.Start();
        _fixture = await EdgeFixture.StartAsync(_origin.Url, MemoryBytes);
        _proxy = _fixture.Proxy;
        _get = new BenchContext("GET", _paths[0]);
        for (var i = 0; i < 3; i++)
        {
            await Miss1KiB();
            var response = _get.Context.Response;
            if (response.StatusCode != StatusCodes.Status200OK || response.Headers["X-Cache"] != "Miss" || _get.BodyBytes != 1024)
            {
                throw new InvalidOperationException($"{_get.Context.Request.Path}: {response.StatusCode}, X-Cache {response.Headers["X-Cache"]}, {_get.BodyBytes} bytes; expected a 200 miss of 1024 bytes ({response.Headers["Cache-Status"]})");
            }
        }
    }
}
