namespace EdgeCache.Caching;

/// <summary>A Dictionary member's value as far as a cache directive needs it: its type, and an Integer's or Boolean's value.
/// A value of another type leaves both at their defaults.</summary>
public readonly record struct StructuredItem(StructuredItemType Type, long Integer = 0, bool Boolean = false);
