using System.Text;
using System.Text.RegularExpressions;

namespace Sweep.Search.Specs;

/// <summary>
/// Checks and prepares HOCON text before Akka.Configuration parses it. Akka's parser gives no line numbers, accepts
/// some broken input silently (<c>b = }</c>) and never returns on an unclosed <c>[</c>; so brackets, quotes and
/// empty values are checked here first, with the line number. It also applies <c>key = ${?VAR}</c> environment
/// overrides, which Akka's parser resolves to an empty string instead of the environment value.
/// </summary>
internal static partial class HoconPrecheck
{
    [GeneratedRegex(@"^(?<indent>\s*)(?<key>[A-Za-z0-9_.\-""]+)\s*[=:]\s*\$\{\?(?<var>[A-Za-z_][A-Za-z0-9_]*)\}\s*(?:(?:#|//).*)?$")]
    private static partial Regex OptionalEnvLine();

    /// <summary>
    /// Replaces each <c>key = ${?VAR}</c> line by <c>key = "value"</c> when VAR is set, or blanks it when not (the
    /// earlier value stays, as HOCON specifies). Line count is preserved so line numbers stay right.
    /// </summary>
    public static string ApplyEnvironmentOverrides(string text, Func<string, string?> environment)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var match = OptionalEnvLine().Match(lines[i].TrimEnd('\r'));
            if (!match.Success) continue;
            var value = environment(match.Groups["var"].Value);
            lines[i] = string.IsNullOrEmpty(value)
                ? ""
                : $"{match.Groups["indent"].Value}{match.Groups["key"].Value} = {System.Text.Json.JsonSerializer.Serialize(value)}";
        }
        return string.Join('\n', lines);
    }

    /// <summary>Null when the structure is sound, else a one-line message starting with <c>line N:</c>.</summary>
    public static string? FindSyntaxError(string text)
    {
        var open = new Stack<(char Bracket, int Line)>();
        var line = 1;
        var expectValue = false;
        var valueKeyLine = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n')
            {
                if (expectValue) return $"line {valueKeyLine}: a key has no value after '=' (write a value, e.g. key = 1, or remove the key)";
                line++;
                continue;
            }
            if (char.IsWhiteSpace(c)) continue;
            if (c == '#' || (c == '/' && i + 1 < text.Length && text[i + 1] == '/'))
            {
                while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                continue;
            }
            if (c == '"')
            {
                var start = line;
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\') i++;
                    else if (text[i] == '\n') return $"line {start}: a quoted string is not closed on its line (add the closing \")";
                    i++;
                }
                if (i >= text.Length) return $"line {start}: a quoted string is never closed (add the closing \")";
                expectValue = false;
                continue;
            }
            switch (c)
            {
                case '=' or ':':
                    if (expectValue) return $"line {line}: unexpected '{c}' where a value belongs";
                    expectValue = true;
                    valueKeyLine = line;
                    break;
                case '{' or '[':
                    open.Push((c, line));
                    expectValue = false;
                    break;
                case '}' or ']':
                    if (expectValue) return $"line {valueKeyLine}: a key has no value before '{c}' (write a value, e.g. key = 1)";
                    var wanted = c == '}' ? '{' : '[';
                    if (open.Count == 0) return $"line {line}: '{c}' closes nothing (remove it or add the matching '{wanted}')";
                    var (bracket, openedOn) = open.Pop();
                    if (bracket != wanted)
                        return $"line {line}: '{c}' does not match the '{bracket}' opened on line {openedOn} (close it with '{(bracket == '{' ? '}' : ']')}' first)";
                    break;
                case ',':
                    if (expectValue) return $"line {valueKeyLine}: a key has no value before ',' (write a value, e.g. key = 1)";
                    break;
                case '$' when i + 1 < text.Length && text[i + 1] == '{':
                    var close = text.IndexOf('}', i);
                    var newline = text.IndexOf('\n', i);
                    if (close < 0 || (newline >= 0 && newline < close)) return $"line {line}: a substitution '${{' is not closed on its line (write ${{path}} or ${{?ENV_VAR}})";
                    i = close;
                    expectValue = false;
                    break;
                default:
                    expectValue = false;
                    break;
            }
        }
        if (expectValue) return $"line {valueKeyLine}: a key has no value after '=' (write a value, e.g. key = 1, or remove the key)";
        if (open.Count > 0)
        {
            var (bracket, openedOn) = open.Peek();
            return $"line {openedOn}: '{bracket}' is never closed (add '{(bracket == '{' ? '}' : ']')}')";
        }
        return null;
    }
}
