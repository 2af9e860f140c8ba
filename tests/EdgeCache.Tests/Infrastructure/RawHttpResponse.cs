namespace EdgeCache.Tests.Infrastructure;

/// <summary>One response as <see cref="RawHttpResponseReader"/> read it; <see cref="Body"/> is valid until the next read.</summary>
internal readonly record struct RawHttpResponse(int Status, string Headers, ReadOnlyMemory<byte> Body);
