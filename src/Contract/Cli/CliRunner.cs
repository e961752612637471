using Sweep.Search.Specs;

namespace Sweep.Contract.Cli;

/// <summary>The one place that turns a bad input into a one-line error and <see cref="ExitCodes.BadInput"/>.</summary>
public static class CliRunner
{
    /// <summary>Runs a command; user errors print "sweep: ..." on stderr and exit <see cref="ExitCodes.BadInput"/>.</summary>
    public static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is SweepUsageException or SweepSpecException)
        {
            await Console.Error.WriteLineAsync("sweep: " + e.Message);
            return ExitCodes.BadInput;
        }
    }

    /// <summary>
    /// The one line printed for a command-line parse error (unknown option, missing value), instead of the parser's
    /// help dump.
    /// </summary>
    public static string ParseError(string command, string message) =>
        $"sweep {command}: {message.ReplaceLineEndings(" ")} (see ./sweep {command} --help)";
}
