namespace EdgeCache.Caching;

/// <summary>
/// A Structured Field Dictionary (RFC 9651 3.2, parsed as 4.2.2 says), as targeted cache-control fields are (RFC 9213 2.1).
/// Only what a cache directive needs is kept of each member: its type, and its value when it is an Integer or a
/// Boolean. Parameters are checked and dropped. Any syntax error fails the whole field, as the algorithm requires.
/// Hand-written because .NET has no Structured Field parser.
/// </summary>
public static class StructuredDictionary
{
    /// <summary>The members in order, a later duplicate key replacing the earlier value; null when the text is not a Dictionary.</summary>
    public static List<KeyValuePair<string, StructuredItem>>? Parse(string text)
    {
        var members = new List<KeyValuePair<string, StructuredItem>>();
        var reader = new Reader(text);
        reader.SkipSpaces();
        while (!reader.AtEnd)
        {
            if (reader.Key() is not { } key)
            {
                return null;
            }

            StructuredItem item;
            if (reader.Peek == '=')
            {
                reader.Advance();
                if (reader.ItemOrInnerList() is not { } value)
                {
                    return null;
                }

                item = value;
            }
            else
            {
                item = new StructuredItem(StructuredItemType.Boolean, Boolean: true);
                if (!reader.Parameters())
                {
                    return null;
                }
            }

            var index = members.FindIndex(m => m.Key == key);
            if (index >= 0)
            {
                members[index] = new(key, item);
            }
            else
            {
                members.Add(new(key, item));
            }

            reader.SkipWhitespace();
            if (reader.AtEnd)
            {
                return members;
            }

            if (reader.Peek != ',')
            {
                return null;
            }

            reader.Advance();
            reader.SkipWhitespace();
            if (reader.AtEnd)
            {
                // A trailing comma.
                return null;
            }
        }

        return members;
    }

    private ref struct Reader(string text)
    {
        private const string TokenSymbols = "!#$%&'*+-.^_`|~:/";
        private const string KeySymbols = "_-.*";
        private int _position;

        public readonly bool AtEnd => _position >= text.Length;

        public readonly char Peek => AtEnd ? '\0' : text[_position];

        public void Advance() => _position++;

        public void SkipSpaces()
        {
            while (Peek == ' ')
            {
                _position++;
            }
        }

        public void SkipWhitespace()
        {
            while (Peek is ' ' or '\t')
            {
                _position++;
            }
        }

        public string? Key()
        {
            var start = _position;
            if (!(char.IsAsciiLetterLower(Peek) || Peek == '*'))
            {
                return null;
            }

            // The first character (a letter or "*") is one the loop takes as well.
            while (char.IsAsciiLetterLower(Peek) || char.IsAsciiDigit(Peek) || KeySymbols.Contains(Peek))
            {
                _position++;
            }

            return text[start.._position];
        }

        public StructuredItem? ItemOrInnerList()
        {
            if (Peek != '(')
            {
                return Item();
            }

            _position++;
            while (true)
            {
                // At the end Peek is '\0', which no item starts with.
                SkipSpaces();
                if (Peek == ')')
                {
                    _position++;
                    return Parameters() ? new StructuredItem(StructuredItemType.InnerList) : null;
                }

                if (Item() is null || !(Peek is ' ' or ')'))
                {
                    return null;
                }
            }
        }

        public bool Parameters()
        {
            while (Peek == ';')
            {
                _position++;
                SkipSpaces();
                if (Key() is null)
                {
                    return false;
                }

                if (Peek == '=')
                {
                    _position++;
                    if (BareItem() is null)
                    {
                        return false;
                    }
                }
            }

            return true;
        }

        private StructuredItem? Item() => BareItem() is { } item && Parameters() ? item : null;

        private StructuredItem? BareItem() => Peek switch
        {
            '-' or (>= '0' and <= '9') => Number(),
            '"' => QuotedString(),
            ':' => ByteSequence(),
            '?' => Boolean(),
            '@' => Date(),
            '%' => DisplayString(),
            var c when char.IsAsciiLetter(c) || c == '*' => Token(),
            _ => null,
        };

        private StructuredItem? Number()
        {
            var negative = Peek == '-';
            if (negative)
            {
                _position++;
            }

            if (!char.IsAsciiDigit(Peek))
            {
                return null;
            }

            long value = 0;
            var digits = 0;
            var point = -1;
            while (char.IsAsciiDigit(Peek) || (Peek == '.' && point == -1))
            {
                if (Peek == '.')
                {
                    if (digits > 12)
                    {
                        return null;
                    }

                    point = digits;
                }
                else
                {
                    value = (value * 10) + (Peek - '0');
                    digits++;
                }

                _position++;
                if (digits > 15)
                {
                    return null;
                }
            }

            if (point == -1)
            {
                return new StructuredItem(StructuredItemType.Integer, negative ? -value : value);
            }

            // A decimal has one to three fractional digits.
            var fraction = digits - point;
            return fraction is >= 1 and <= 3 ? new StructuredItem(StructuredItemType.Decimal) : null;
        }

        private StructuredItem? QuotedString()
        {
            _position++;
            while (!AtEnd)
            {
                var c = text[_position++];
                if (c == '\\')
                {
                    if (!(Peek is '"' or '\\'))
                    {
                        return null;
                    }

                    _position++;
                }
                else if (c == '"')
                {
                    return new StructuredItem(StructuredItemType.String);
                }
                else if (c is < ' ' or > '~')
                {
                    return null;
                }
            }

            return null;
        }

        private StructuredItem? Token()
        {
            // The first character (a letter or "*") is one the loop takes as well.
            while (char.IsAsciiLetterOrDigit(Peek) || TokenSymbols.Contains(Peek))
            {
                _position++;
            }

            return new StructuredItem(StructuredItemType.Token);
        }

        private StructuredItem? ByteSequence()
        {
            _position++;
            while (char.IsAsciiLetterOrDigit(Peek) || Peek is '+' or '/' or '=')
            {
                _position++;
            }

            if (Peek != ':')
            {
                return null;
            }

            _position++;
            return new StructuredItem(StructuredItemType.ByteSequence);
        }

        private StructuredItem? Boolean()
        {
            _position++;
            var c = Peek;
            if (c is not ('0' or '1'))
            {
                return null;
            }

            _position++;
            return new StructuredItem(StructuredItemType.Boolean, Boolean: c == '1');
        }

        private StructuredItem? Date()
        {
            _position++;
            return Number() is { Type: StructuredItemType.Integer } ? new StructuredItem(StructuredItemType.Date) : null;
        }

        private StructuredItem? DisplayString()
        {
            _position++;
            if (Peek != '"')
            {
                return null;
            }

            _position++;
            while (!AtEnd)
            {
                var c = text[_position++];
                if (c == '"')
                {
                    return new StructuredItem(StructuredItemType.DisplayString);
                }

                if (c is < ' ' or > '~')
                {
                    return null;
                }

                if (c == '%' && !(IsLowerHex(Peek) && IsLowerHex(_position + 1 < text.Length ? text[_position + 1] : '\0')))
                {
                    return null;
                }

                if (c == '%')
                {
                    _position += 2;
                }
            }

            return null;
        }

        private static bool IsLowerHex(char c) => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f';
    }
}
