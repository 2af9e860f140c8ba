using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using EdgeCache.Configuration;

namespace EdgeCache.Origins;

/// <summary>
/// A plain HTTP(S) origin. The target URL is always the configured base plus the validated path, re-encoded segment by
/// segment, so neither the viewer's Host, an absolute-form request target nor an encoded path can point it elsewhere.
/// Uses SocketsHttpHandler directly (as YARP does) for keep-alive pooling and connect timeouts, with redirects, cookies,
/// proxies and automatic decompression off: the node relays what the origin said.
/// </summary>
public sealed class HttpOrigin : IOrigin, IDisposable
{
    private readonly HttpMessageInvoker _client;

    /// <summary>Forwarded and bypassing requests (<see cref="OriginRequest.PassThrough"/>), in their own pool.</summary>
    private readonly HttpMessageInvoker _passThroughClient;
    private readonly Uri _baseUri;
    private readonly string _basePath;

    /// <summary>Scheme, authority and base path: what a plain path is appended to.</summary>
    private readonly string _baseUrl;
    private readonly string? _hostHeader;
    private readonly string? _healthPath;
    private readonly TimeProvider _time;

    public HttpOrigin(OriginOptions options, TimeProvider? time = null, HttpMessageHandler? handler = null)
    {
        Id = options.Id;
        _time = time ?? TimeProvider.System;
        var url = new Uri(options.Url!, UriKind.Absolute);
        _baseUri = new Uri(url.GetLeftPart(UriPartial.Authority) + "/");
        _basePath = url.AbsolutePath.TrimEnd('/');
        _baseUrl = url.GetLeftPart(UriPartial.Authority) + _basePath;
        _hostHeader = options.HostHeader;
        _healthPath = options.HealthPath;
        ReadTimeout = TimeSpan.FromMilliseconds(options.ReadTimeoutMs);
        _client = new HttpMessageInvoker(handler ?? NewHandler(options, options.MaxConnections));
        _passThroughClient = handler is null
            ? new HttpMessageInvoker(NewHandler(options, options.MaxPassThroughConnections))
            : new HttpMessageInvoker(handler, disposeHandler: false);
    }

    public string Id { get; }

    public TimeSpan ReadTimeout { get; }

    /// <summary>The URL the origin is asked for: base + encoded path + query. Exposed for tests of the no-open-proxy rule.</summary>
    public Uri BuildUri(string path, string query)
    {
        if (IsPlainPath(path))
        {
            // The usual path (letters, digits, "-._~" between single slashes) encodes to itself, so the URL is one string
            // and one parse. Only those characters follow the origin's own scheme and authority, so it cannot leave them;
            // splitting, escaping each segment and checking the parsed authority cost a dozen objects per miss.
            return new Uri(query.Length == 0 ? string.Concat(_baseUrl, path) : string.Concat(_baseUrl, path, "?", query), UriKind.Absolute);
        }

        var sb = new StringBuilder(_basePath.Length + path.Length + query.Length + 8);
        sb.Append(_basePath);
        foreach (var segment in path.Split('/'))
        {
            if (sb.Length == 0 || sb[^1] != '/')
            {
                sb.Append('/');
            }

            sb.Append(Uri.EscapeDataString(segment));
        }

        if (query.Length > 0)
        {
            sb.Append('?').Append(query);
        }

        var relative = sb.ToString();
        var uri = new Uri(_baseUri, relative);
        if (uri.Authority != _baseUri.Authority || !uri.AbsolutePath.StartsWith(_basePath, StringComparison.Ordinal))
        {
            // Unreachable for validated paths; a last line of defence against ever leaving the configured origin.
            throw new InvalidOperationException("origin URL escaped its base");
        }

        return uri;
    }

    private static SocketsHttpHandler NewHandler(OriginOptions options, int maxConnections) =>
        new()
        {
            ConnectTimeout = TimeSpan.FromMilliseconds(options.ConnectTimeoutMs),
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            ActivityHeadersPropagator = null,
            EnableMultipleHttp2Connections = true,
            // Field values are bytes: read one char per byte, so obs-text reaches the viewer as sent (OriginHeaderValue).
            // Latin-1 is the client's default too; it is set here because the viewer listener writes the same encoding.
            ResponseHeaderEncodingSelector = static (_, _) => Encoding.Latin1,
        };

    /// <summary>
    /// A path the general encoding above leaves as it is: starts with '/', no empty segment (which it would collapse),
    /// and only characters <see cref="Uri.EscapeDataString(string)"/> does not escape.
    /// </summary>
    private static bool IsPlainPath(string path)
    {
        if (path.Length == 0 || path[0] != '/')
        {
            return false;
        }

        for (var i = 1; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '/' ? path[i - 1] == '/' : !(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~'))
            {
                return false;
            }
        }

        return true;
    }

    public async Task<OriginResponse> SendAsync(OriginRequest request, CancellationToken cancellationToken)
    {
        var method = HttpMethod.Parse(request.Method);
        if (method.Method != request.Method)
        {
            // The method token is case-sensitive (RFC 9110 9.1): a viewer's "get" is an extension method, not GET. The
            // client writes any case-insensitive match of a method it knows in that method's canonical spelling, with no
            // option to keep the token as given, and would also read the response as that method's (no body for "head").
            // Refused rather than sent as another method.
            // Never stored: it is the node's answer, not the origin's.
            return OriginResponse.Text((int)HttpStatusCode.NotImplemented, $"The method {request.Method} differs from {method.Method} only in case; this node cannot forward it as spelled.", "no-store");
        }

        var message = new HttpRequestMessage(method, BuildUri(request.Path, request.Query))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };

        if (_hostHeader is not null)
        {
            message.Headers.Host = _hostHeader;
        }

        var acceptEncoding = false;
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                // Only a behavior forwarding "allViewer" sends the viewer's Host: it replaces the origin's own. Unvalidated,
                // as Kestrel took it: a value the client cannot parse leaves the origin's own authority in place.
                message.Headers.Remove("Host");
                message.Headers.TryAddWithoutValidation("Host", value);
                continue;
            }

            message.Headers.TryAddWithoutValidation(name, value);
            acceptEncoding |= name.Equals("Accept-Encoding", StringComparison.OrdinalIgnoreCase);
        }

        if (!acceptEncoding)
        {
            // Without Accept-Encoding any coding is acceptable (RFC 9110 12.5.3); the node stores and compresses
            // representations itself, so it asks for the plain one unless the behavior forwards the viewer's.
            message.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");
        }

        if (request.IfNoneMatch is not null)
        {
            message.Headers.TryAddWithoutValidation("If-None-Match", request.IfNoneMatch);
        }

        if (request.IfModifiedSince is { } ims)
        {
            message.Headers.IfModifiedSince = ims;
        }

        using var timeout = new IdleTimeout(_time, ReadTimeout, cancellationToken);
        ViewerBodyContent? content = null;
        if (request.Body is not null)
        {
            message.Content = content = new ViewerBodyContent(request.Body, request.BodyLength, timeout, ReadTimeout);
            if (request.BodyContentType is not null && MediaTypeHeaderValue.TryParse(request.BodyContentType, out var ct))
            {
                message.Content.Headers.ContentType = ct;
            }
        }

        HttpResponseMessage response;
        try
        {
            try
            {
                response = await (request.PassThrough ? _passThroughClient : _client).SendAsync(message, timeout.Token).ConfigureAwait(false);
            }
            catch when (content is not null)
            {
                await content.StopAsync().ConfigureAwait(false);
                if (content.ViewerFault is { } fault)
                {
                    message.Dispose();
                    throw new ViewerBodyException(fault);
                }

                throw;
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            message.Dispose();
            throw new OriginException(Id, OriginErrorKind.Timeout, $"no response within {ReadTimeout.TotalMilliseconds:0} ms", ex);
        }
        catch (HttpRequestException ex)
        {
            message.Dispose();
            var kind = ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError
                || ex.InnerException is SocketException
                ? OriginErrorKind.Connect
                : OriginErrorKind.Protocol;
            if (ex.InnerException is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                kind = OriginErrorKind.Timeout;
            }

            throw new OriginException(Id, kind, ex.Message, ex);
        }

        if (OriginResponseValidator.Problem(request, response) is { } problem)
        {
            // Disposed unread: the connection is closed rather than reused, since its framing cannot be trusted.
            response.Dispose();
            message.Dispose();
            throw new OriginException(Id, OriginErrorKind.Protocol, problem);
        }

        var headers = HopByHop.Filter(response.Headers.NonValidated, response.Content.Headers.NonValidated, (int)response.StatusCode);
        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        return new OriginResponse((int)response.StatusCode, headers, response.Content.Headers.ContentLength, body, response);
    }

    public async Task<OriginProbeResult> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_healthPath is null)
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(_baseUri.Host, _baseUri.Port, cancellationToken).ConfigureAwait(false);
                return OriginProbeResult.Ok;
            }

            using var response = await SendAsync(new OriginRequest { Method = "GET", Path = _healthPath }, cancellationToken).ConfigureAwait(false);
            return response.StatusCode < 500 ? OriginProbeResult.Ok : OriginProbeResult.Failed("status", $"{_healthPath} answered {response.StatusCode}");
        }
        catch (OriginException ex)
        {
            return OriginProbeResult.Failed(ex);
        }
        catch (SocketException ex)
        {
            return OriginProbeResult.Failed(OriginErrorKind.Connect.Label(), ex.Message);
        }
        catch (OperationCanceledException)
        {
            return OriginProbeResult.Failed(OriginErrorKind.Timeout.Label(), "no answer within the probe's timeout");
        }
        catch (IOException ex)
        {
            return OriginProbeResult.Failed(OriginErrorKind.Protocol.Label(), ex.Message);
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _passThroughClient.Dispose();
    }
}
