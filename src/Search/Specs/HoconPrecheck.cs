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
    [GeneratedRegex(@"\$\{\?(?<var>[A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex OptionalEnvToken();

    [GeneratedRegex(@"\$\{(?<var>[A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex RequiredEnvToken();

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
            if (match.Success)
            {
                var value = environment(match.Groups["var"].Value);
                lines[i] = string.IsNullOrEmpty(value)
                    ? ""
                    : $"{match.Groups["indent"].Value}{match.Groups["key"].Value} = {Quote(value)}";
                continue;
            }
            // Elsewhere (e.g. inside { ... } on one line) a set variable is substituted; an unset one cannot be
            // dropped without dropping the key, which Akka would turn into an empty string, so it is an error.
            var line = i + 1;
            lines[i] = OptionalEnvToken().Replace(lines[i], token =>
            {
                var name = token.Groups["var"].Value;
                var value = environment(name);
                return string.IsNullOrEmpty(value)
                    ? throw new SweepSpecException($"line {line}: ${{?{name}}} is not set; put the override on a line of its own (key = ${{?{name}}}) so the earlier value stays when it is unset")
                    : Quote(value);
            });
        }
        return SubstituteEnvironment(string.Join('\n', lines), environment);
    }

    /// <summary>
    /// HOCON resolves <c>${NAME}</c> from the environment when the document does not define NAME; Akka's parser
    /// does not, and reports it unresolved. A set variable that the spec does not define as a key is put in here.
    /// </summary>
    private static string SubstituteEnvironment(string text, Func<string, string?> environment) =>
        RequiredEnvToken().Replace(text, token =>
        {
            var name = token.Groups["var"].Value;
            var definedInSpec = Regex.IsMatch(text, $@"(^|[\s{{,.]){Regex.Escape(name)}\s*[=:{{]", RegexOptions.Multiline);
            return !definedInSpec && environment(name) is { Length: > 0 } value ? Quote(value) : token.Value;
        });

    private static string Quote(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    /// <summary>Rewrites Akka's "at position N" (a character offset) as "at line L, column C" of <paramref name="text"/>.</summary>
    public static string WithLineNumbers(string message, string text)
    {
        var match = Regex.Match(message, @"position (\d+)");
        if (!match.Success || !int.TryParse(match.Groups[1].Value, out var position)) return message;
        position = Math.Clamp(position, 0, text.Length);
        var line = 1 + text.AsSpan(0, position).Count('\n');
        var column = position - (text.LastIndexOf('\n', Math.Max(0, position - 1)) + 1) + 1;
        return message[..match.Index] + $"line {line}, column {column}" + message[(match.Index + match.Length)..];
    }

    /// <summary>Null when the structure is sound, else a one-line message starting with <c>line N:</c>.</summary>
    public static string? FindSyntaxError(string text)
    {
        var open = new Stack<(char Bracket, int Line)>();
        var line = 1;
        var expectValue = false;
        // After a key's '=' or ':' further '=' / ':' belong to the value (e.g. an unquoted c:/data) until a separator.
        var assigned = false;
        var valueKeyLine = 0;
        var lastSignificant = '\0';
        // Start of a key that has not met its '=', ':' or '{' yet; Akka would silently give it no value.
        var bareKeyStart = -1;
        var bareKeyLine = 0;
        bool AtKeyPosition() => !assigned && (open.Count == 0 || open.Peek().Bracket == '{');
        string? BareKeyError()
        {
            if (bareKeyStart < 0) return null;
            var end = bareKeyStart;
            while (end < text.Length && !char.IsWhiteSpace(text[end]) && text[end] is not ('}' or ',' or '#')) end++;
            var key = text[bareKeyStart..end];
            return $"line {bareKeyLine}: '{key}' has no value (write {key} = value, or {key} {{ ... }} for an object)";
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n')
            {
                if (expectValue) return $"line {valueKeyLine}: a key has no value after '=' (write a value, e.g. key = 1, or remove the key)";
                if (BareKeyError() is { } bare) return bare;
                line++;
                assigned = false;
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
                if (bareKeyStart < 0 && AtKeyPosition()) { bareKeyStart = i; bareKeyLine = line; }
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
                lastSignificant = '"';
                continue;
            }
            var previous = lastSignificant;
            lastSignificant = c;
            switch (c)
            {
                case '=' or ':' when previous is '=' or ':' && expectValue:
                    return $"line {line}: '{previous}{c}' is not an assignment (write key = value)";
                case '=' or ':' when !assigned:
                    bareKeyStart = -1;
                    expectValue = true;
                    assigned = true;
                    valueKeyLine = line;
                    break;
                case '{' or '[':
                    bareKeyStart = -1;
                    open.Push((c, line));
                    expectValue = false;
                    assigned = false;
                    break;
                case '}' or ']':
                    if (expectValue) return $"line {valueKeyLine}: a key has no value before '{c}' (write a value, e.g. key = 1)";
                    if (BareKeyError() is { } bareBeforeClose) return bareBeforeClose;
                    // After '}' the parent object expects its next key; after ']' the value goes on.
                    assigned = c == ']';
                    var wanted = c == '}' ? '{' : '[';
                    if (open.Count == 0) return $"line {line}: '{c}' closes nothing (remove it or add the matching '{wanted}')";
                    var (bracket, openedOn) = open.Pop();
                    if (bracket != wanted)
                        return $"line {line}: '{c}' does not match the '{bracket}' opened on line {openedOn} (close it with '{(bracket == '{' ? '}' : ']')}' first)";
                    break;
                case ',':
                    if (expectValue) return $"line {valueKeyLine}: a key has no value before ',' (write a value, e.g. key = 1)";
                    if (BareKeyError() is { } bareBeforeComma) return bareBeforeComma;
                    if (previous == '}' && (open.Count == 0 || open.Peek().Bracket == '{'))
                        return $"line {line}: remove the ',' after '}}' (Akka's HOCON parser accepts no comma after an object field; put the next field on a new line)";
                    assigned = false;
                    break;
                case '$' when i + 1 < text.Length && text[i + 1] == '{':
                    var close = text.IndexOf('}', i);
                    var newline = text.IndexOf('\n', i);
                    if (close < 0 || (newline >= 0 && newline < close)) return $"line {line}: a substitution '${{' is not closed on its line (write ${{path}} or ${{?ENV_VAR}})";
                    i = close;
                    expectValue = false;
                    break;
                default:
                    if (bareKeyStart < 0 && AtKeyPosition()) { bareKeyStart = i; bareKeyLine = line; }
                    expectValue = false;
                    break;
            }
        }
        if (expectValue) return $"line {valueKeyLine}: a key has no value after '=' (write a value, e.g. key = 1, or remove the key)";
        if (BareKeyError() is { } bareAtEnd) return bareAtEnd;
        if (open.Count > 0)
        {
            var (bracket, openedOn) = open.Peek();
            return $"line {openedOn}: '{bracket}' is never closed (add '{(bracket == '{' ? '}' : ']')}')";
        }
        return null;
    }
}
