using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Benchmarks;

/// <summary>
/// Response headers as Kestrel keeps them for this purpose: Content-Length held as a number (Kestrel's HttpResponseHeaders
/// never formats it into a string), everything else in a dictionary that is cleared, not reallocated, between
/// requests. <see cref="HeaderDictionary"/> would format Content-Length into a new string on every set, an allocation
/// Kestrel does not make, and it would be charged to EdgeCache.
/// </summary>
internal sealed class ResponseHeaders : IHeaderDictionary
{
    private readonly Dictionary<string, StringValues> _headers = new(StringComparer.OrdinalIgnoreCase);
    private long? _contentLength;

    public long? ContentLength
    {
        get => _contentLength;
        set => _contentLength = value;
    }

    public int Count => _headers.Count + (_contentLength is null ? 0 : 1);

    public bool IsReadOnly => false;

    public ICollection<string> Keys => [.. this.Select(h => h.Key)];

    public ICollection<StringValues> Values => [.. this.Select(h => h.Value)];

    public StringValues this[string key]
    {
        get => TryGetValue(key, out var value) ? value : StringValues.Empty;
        set
        {
            if (IsContentLength(key))
            {
                _contentLength = StringValues.IsNullOrEmpty(value) ? null : long.Parse(value.ToString(), CultureInfo.InvariantCulture);
            }
            else if (StringValues.IsNullOrEmpty(value))
            {
                _headers.Remove(key);
            }
            else
            {
                _headers[key] = value;
            }
        }
    }

    public void Add(string key, StringValues value)
    {
        if (ContainsKey(key))
        {
            throw new ArgumentException($"header {key} is already set", nameof(key));
        }

        this[key] = value;
    }

    public void Add(KeyValuePair<string, StringValues> item) => Add(item.Key, item.Value);

    public void Clear()
    {
        _headers.Clear();
        _contentLength = null;
    }

    public bool Contains(KeyValuePair<string, StringValues> item) => TryGetValue(item.Key, out var value) && value == item.Value;

    public bool ContainsKey(string key) => IsContentLength(key) ? _contentLength is not null : _headers.ContainsKey(key);

    public void CopyTo(KeyValuePair<string, StringValues>[] array, int arrayIndex)
    {
        foreach (var header in this)
        {
            array[arrayIndex++] = header;
        }
    }

    public bool Remove(string key)
    {
        if (IsContentLength(key))
        {
            var had = _contentLength is not null;
            _contentLength = null;
            return had;
        }

        return _headers.Remove(key);
    }

    public bool Remove(KeyValuePair<string, StringValues> item) => Contains(item) && Remove(item.Key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out StringValues value)
    {
        if (IsContentLength(key))
        {
            value = _contentLength is { } length ? length.ToString(CultureInfo.InvariantCulture) : StringValues.Empty;
            return _contentLength is not null;
        }

        return _headers.TryGetValue(key, out value);
    }

    public IEnumerator<KeyValuePair<string, StringValues>> GetEnumerator()
    {
        foreach (var header in _headers)
        {
            yield return header;
        }

        if (_contentLength is { } length)
        {
            yield return new(HeaderNames.ContentLength, length.ToString(CultureInfo.InvariantCulture));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static bool IsContentLength(string key) => key.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase);
}
