namespace Sweep.Search.Specs;

/// <summary>
/// Bounds a spec must stay within before Akka's HOCON parser sees it. The parser recurses once per nesting level
/// and per part of a dotted key, so 20,000 nested objects or a 100,000-part key overflow the stack and kill the
/// process; and it needs seconds and gigabytes for a list of tens of megabytes. A real spec is a few kilobytes,
/// a handful of levels deep, with keys of a few parts.
/// </summary>
public static class SpecLimits
{
    /// <summary>Largest spec file, in bytes (or characters of spec text).</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>Deepest nesting of objects and lists.</summary>
    public const int MaxDepth = 64;

    /// <summary>Most parts of one dotted key (a.b.c has 3).</summary>
    public const int MaxKeyParts = 64;

    /// <summary>The one line for a spec of <paramref name="size"/> bytes or characters over <see cref="MaxBytes"/>.</summary>
    public static string TooLarge(long size) =>
        $"is larger than the {MaxBytes / (1024 * 1024)} MB a spec may have ({size:N0} bytes); a spec lists a search space, not data";

    /// <summary>Null when <paramref name="text"/> is within every limit, else one line naming the limit.</summary>
    public static string? Check(string text)
    {
        if (text.Length > MaxBytes)
            return TooLarge(text.Length);
        var depth = 0;
        var line = 1;
        var keyParts = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    keyParts = 1;
                    break;
                case '"':
                    // Skip the quoted string; an unclosed one is the syntax check's to report.
                    for (i++; i < text.Length && text[i] is not ('"' or '\n'); i++)
                        if (text[i] == '\\') i++;
                    if (i < text.Length && text[i] == '\n') line++;
                    break;
                case '#':
                    while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                    break;
                case '{' or '[':
                    if (++depth > MaxDepth)
                        return $"line {line}: objects and lists are nested deeper than {MaxDepth} levels; flatten the spec";
                    keyParts = 1;
                    break;
                case '}' or ']':
                    depth = Math.Max(0, depth - 1);
                    keyParts = 1;
                    break;
                case '.':
                    if (++keyParts > MaxKeyParts)
                        return $"line {line}: a dotted key has more than {MaxKeyParts} parts; use nested objects or shorter keys";
                    break;
                default:
                    if (char.IsWhiteSpace(c) || c is '=' or ':' or ',')
                        keyParts = 1;
                    break;
            }
        }
        return null;
    }
}
