namespace EdgeCache.Caching;

/// <summary>The types of a Structured Field member (RFC 9651 3).</summary>
public enum StructuredItemType
{
    Integer,
    Decimal,
    String,
    Token,
    ByteSequence,
    Boolean,
    Date,
    DisplayString,
    InnerList,
}
