using System.ComponentModel;
using System.Globalization;

namespace EdgeCache.Configuration;

/// <summary>
/// Lets the configuration binder bind a string where <see cref="ForwardedNames"/> is usually a list: the binder converts
/// a field that has a value (a string) and binds the items of one that has children (an array). Which keywords a field
/// accepts is the validator's to say, with the field's name.
/// </summary>
public sealed class ForwardedNamesConverter : TypeConverter
{
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType) => sourceType == typeof(string);

    public override object ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        ForwardedNames.Keyword((string)value);
}
