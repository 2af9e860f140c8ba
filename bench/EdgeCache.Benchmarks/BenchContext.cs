using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace EdgeCache.Benchmarks;

/// <summary>
/// One viewer request, built once and replayed: a <see cref="DefaultHttpContext"/> over features that are reset
/// between operations (as Kestrel reuses its per-connection context and feature objects), so what an operation
/// allocates is the request delegate's own. <see cref="Reset"/> allocates nothing.
/// </summary>
internal sealed class BenchContext
{
    private readonly ReusableResponseFeature _response = new();
    private readonly DiscardingPipeWriter _body = new();
    private readonly HttpRequestFeature _request;

    public BenchContext(string method, string path, string query = "", params (string Name, string Value)[] requestHeaders)
    {
        var request = _request = new HttpRequestFeature
        {
            Method = method,
            Scheme = "http",
            Protocol = "HTTP/1.1",
            Path = path,
            QueryString = query,
            RawTarget = path + query,
        };
        request.Headers.Host = "edge.example";
        foreach (var (name, value) in requestHeaders)
        {
            request.Headers[name] = value;
        }

        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(request);
        features.Set<IHttpResponseFeature>(_response);
        features.Set<IHttpResponseBodyFeature>(new DiscardingResponseBodyFeature(_body, _response));
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature());
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature { RemoteIpAddress = IPAddress.Loopback, LocalIpAddress = IPAddress.Loopback, LocalPort = 8080 });
        Context = new DefaultHttpContext(features);
    }

    public HttpContext Context { get; }

    public long BodyBytes => _body.Written;

    /// <summary>A new target for the next operation (the miss benchmarks' new key); <paramref name="path"/> is used as is, so a pre-built string allocates nothing.</summary>
    public void SetPath(string path)
    {
        _request.Path = path;
        _request.RawTarget = path;
    }

    public void Reset()
    {
        _response.Reset();
        _body.Reset();
    }
}
