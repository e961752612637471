using Sweep.Coordinator.Hosting;
using Sweep.Search.Specs;

namespace Sweep.Coordinator.Cli;

/// <summary>Exit codes and the one place that turns a bad input into a one-line error.</summary>
public static class CliRunner
{
    public const int Success = 0;
    public const int SweepUnfinished = 1;
    public const int BadInput = 2;
    public const int Interrupted = 130;

    /// <summary>Runs a command; user errors print "sweep: ..." on stderr and exit <see cref="BadInput"/>.</summary>
    public static async Task<int> Guard(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (SweepUsageException e)
        {
            await Console.Error.WriteLineAsync("sweep: " + e.Message);
            return BadInput;
        }
        catch (SweepSpecException e)
        {
            await Console.Error.WriteLineAsync("sweep: " + e.Message);
            return BadInput;
        }
    }
}
