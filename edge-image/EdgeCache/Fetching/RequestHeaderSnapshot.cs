using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace EdgeCache.Fetching;

/// <summary>
/// A read-only copy of the leader's request headers for a fetch that may outlive the request (the server reuses its
/// header objects once the request ends). One array of the fields, looked up by a scan: a fetch reads it once or twice
/// (Authorization, the Vary'd fields), and a <see cref="HeaderDictionary"/> copy cost a dictionary, its buckets and
/// entries, and their regrowth for a browser's dozen fields, on every miss.
/// </summary>
public sealed class RequestHeaderSnapshot : IHeaderDictionary
{
    private readonly KeyValuePair<string, StringValues>[] _fields;

    public RequestHeaderSnapshot(IHeaderDictionary headers)
    {
        _fields = new KeyValuePair<string, StringValues>[headers.Count];
        var count = 0;
        foreach (var field in headers)
        {
            if (StringValues.IsNullOrEmpty(field.Value))
            {
                // As the HeaderDictionary copy did (its setter drops an empty value): an empty field counts as absent.
                continue;
            }

            if (count == _fields.Length)
            {
                // Count and enumeration disagree only for a dictionary that computes some fields (never Kestrel's).
                Array.Resize(ref _fields, count + 4);
            }

            _fields[count++] = field;
        }

        Count = count;
    }

    public int Count { get; }

    public bool IsReadOnly => true;

    public long? ContentLength
    {
        get => HeaderUtilities.TryParseNonNegativeInt64(this[HeaderNames.ContentLength].ToString(), out var length) ? length : null;
        set => throw ReadOnly();
    }

    public ICollection<string> Keys => [.. _fields.Take(Count).Select(f => f.Key)];

    public ICollection<StringValues> Values => [.. _fields.Take(Count).Select(f => f.Value)];

    public StringValues this[string key]
    {
        get => TryGetValue(key, out var value) ? value : StringValues.Empty;
        set => throw ReadOnly();
    }

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out StringValues value)
    {
        for (var i = 0; i < Count; i++)
        {
            if (_fields[i].Key.Equals(key, StringComparison.OrdinalIgnoreCase))
            {
                value = _fields[i].Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    public bool ContainsKey(string key) => TryGetValue(key, out _);

    public bool Contains(KeyValuePair<string, StringValues> item) => TryGetValue(item.Key, out var value) && value == item.Value;

    public void CopyTo(KeyValuePair<string, StringValues>[] array, int arrayIndex) => Array.Copy(_fields, 0, array, arrayIndex, Count);

    public IEnumerator<KeyValuePair<string, StringValues>> GetEnumerator() => _fields.Take(Count).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Add(string key, StringValues value) => throw ReadOnly();

    public void Add(KeyValuePair<string, StringValues> item) => throw ReadOnly();

    public bool Remove(string key) => throw ReadOnly();

    public bool Remove(KeyValuePair<string, StringValues> item) => throw ReadOnly();

    public void Clear() => throw ReadOnly();

    private static NotSupportedException ReadOnly() => new("a fetch's copy of the request headers is read-only");
}
