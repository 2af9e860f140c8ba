namespace EdgeCache.InvalidationLog;

/// <summary>
/// Where everything lives in the control bucket, under an optional key prefix:
/// <c>head.json</c>, <c>invalidations/&lt;id&gt;.json</c>, <c>acks/&lt;id&gt;/&lt;region&gt;/&lt;node&gt;</c>,
/// <c>nodes/&lt;region&gt;/&lt;node&gt;</c>. The node's role may read the first two and write only its own acks and
/// heartbeat; the operator's may write records and the head and read the rest.
/// </summary>
public sealed class ControlBucketKeys
{
    public const string RecordSuffix = ".json";

    public ControlBucketKeys(string? keyPrefix = null)
    {
        Prefix = string.IsNullOrEmpty(keyPrefix) ? "" : keyPrefix.Trim('/') + "/";
    }

    /// <summary>"" or the prefix with one trailing '/'.</summary>
    public string Prefix { get; }

    public string Head => Prefix + "head.json";

    public string Records => Prefix + "invalidations/";

    public string Acks => Prefix + "acks/";

    public string Nodes => Prefix + "nodes/";

    public string Record(string id) => Records + id + RecordSuffix;

    /// <summary>The id a record key names, or null for anything else under invalidations/.</summary>
    public string? IdOf(string key)
    {
        if (!key.StartsWith(Records, StringComparison.Ordinal) || !key.EndsWith(RecordSuffix, StringComparison.Ordinal))
        {
            return null;
        }

        var id = key[Records.Length..^RecordSuffix.Length];
        return InvalidationId.IsValid(id) ? id : null;
    }

    public string AcksOf(string id) => Acks + id + "/";

    public string Ack(string id, string region, string node) => AcksOf(id) + region + "/" + node;

    public string Heartbeat(string region, string node) => Nodes + region + "/" + node;

    /// <summary>A region or node name that is one key segment: no '/', nothing S3 or a shell would mangle.</summary>
    public static bool IsSegment(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 128 || value is "." or "..")
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
