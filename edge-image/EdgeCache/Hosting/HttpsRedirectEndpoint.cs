using System.Net;
using EdgeCache.Configuration;
using EdgeCache.Proxy;
using EdgeCache.ProxyProtocol;
using EdgeCache.Syntax;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace EdgeCache.Hosting;

/// <summary>
/// listen.httpsRedirectPort: a plain-HTTP port that answers every request with 301 to the same URL over https, as
/// CloudFront's redirect-to-https does, and the viewer health path with 200 for the load balancer's checks. Nothing on
/// it reaches an origin or the cache.
/// </summary>
public static class HttpsRedirectEndpoint
{
    /// <summary>Binds the redirect port, when configured, behind the PROXY protocol middleware when that is on.</summary>
    public static void Listen(KestrelServerOptions kestrel, IPAddress address, Configuration.ListenOptions listen)
    {
        if (listen.HttpsRedirectPort is not { } port)
        {
            return;
        }

        kestrel.Listen(address, port, endpoint =>
        {
            endpoint.Protocols = HttpProtocols.Http1;
            if (listen.ProxyProtocol)
            {
                endpoint.UseProxyProtocol();
            }
        });
    }

    /// <summary>Answers requests that arrived on the redirect port.</summary>
    public static void Map(WebApplication app, EdgeCacheOptions options)
    {
        if (options.Listen.HttpsRedirectPort is not { } port)
        {
            return;
        }

        var via = "1.1 " + options.Node.Name + " (EdgeCache)";
        // RFC 9211: answered by the node itself, as every response on a viewer-facing port says in Cache-Status.
        var cacheStatus = options.Node.Name + "; detail=https-redirect";
        app.MapWhen(context => context.Connection.LocalPort == port, redirect => redirect.Run(context => HandleAsync(context, via, cacheStatus)));
    }

    private static Task HandleAsync(HttpContext context, string via, string cacheStatus)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.Via = via;
        response.Headers["Cache-Status"] = cacheStatus;
        if (request.Path.Value == EdgeProxy.ViewerHealthPath && RequestMethod.IsGetOrHead(request.Method))
        {
            return WriteTextAsync(context, StatusCodes.Status200OK, "ok\n");
        }

        // The target as the viewer sent it (origin-form); an absolute-form target gives its path and query instead.
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var target = rawTarget is ['/', ..] ? rawTarget : (request.PathBase + request.Path).ToUriComponent() + request.QueryString.ToUriComponent();
        if (!HttpsRedirectLocation.TryBuild(request.Host.Value, target, out var location))
        {
            return WriteTextAsync(context, StatusCodes.Status400BadRequest, "400: the Host header is missing or not a valid host[:port]\n");
        }

        response.StatusCode = StatusCodes.Status301MovedPermanently;
        response.Headers.Location = location;
        response.ContentLength = 0;
        return Task.CompletedTask;
    }

    private static Task WriteTextAsync(HttpContext context, int status, string text)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.Headers.CacheControl = "no-store";
        response.ContentType = "text/plain; charset=utf-8";
        response.ContentLength = System.Text.Encoding.UTF8.GetByteCount(text);
        return RequestMethod.IsHead(context.Request.Method) ? Task.CompletedTask : response.WriteAsync(text, context.RequestAborted);
    }
}
