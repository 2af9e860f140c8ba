namespace EdgeCache.Origins;

public sealed class OriginException(string originId, OriginErrorKind kind, string message, Exception? inner = null)
    : Exception($"origin '{originId}': {message}", inner)
{
    public string OriginId { get; } = originId;

    public OriginErrorKind Kind { get; } = kind;

    public int ViewerStatusCode => Kind == OriginErrorKind.Timeout ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
}
