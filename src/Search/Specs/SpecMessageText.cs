using System.Text;

namespace Sweep.Search.Specs;

/// <summary>
/// Makes spec text quoted in an error safe to print on one line: control characters (NUL, ANSI escapes, line
/// breaks) are shown escaped instead of reaching the terminal, a run of text without spaces (a long key or value)
/// is cut to <see cref="MaxRun"/> characters, and the whole message to <see cref="MaxMessage"/>.
/// </summary>
public static class SpecMessageText
{
    public const int MaxRun = 80;
    public const int MaxMessage = 600;

    public static string Safe(string message)
    {
        var output = new StringBuilder(Math.Min(message.Length, MaxMessage + 8));
        var run = 0;
        foreach (var c in message)
        {
            if (output.Length >= MaxMessage)
                return output.Append(" ...").ToString();
            run = char.IsWhiteSpace(c) && !char.IsControl(c) ? 0 : run + 1;
            if (run > MaxRun)
            {
                if (run == MaxRun + 1)
                    output.Append("...");
                continue;
            }
            output.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }
        return output.ToString();
    }
}
