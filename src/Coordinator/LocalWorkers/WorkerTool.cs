using System.Diagnostics;
using Sweep.Contract.Cli;

namespace Sweep.Coordinator.LocalWorkers;

/// <summary>
/// Runs one short command of the worker program (the side that owns TorchSharp) and returns what it printed on
/// stdout: the coordinator reads weights and evaluates them this way, in a child process, never in its own.
/// A bad input comes back as the worker's own one-line message.
/// </summary>
public static class WorkerTool
{
    /// <summary>Runs `dotnet <paramref name="workerDll"/> <paramref name="arguments"/>` to its end; <paramref name="what"/> names it in errors.</summary>
    public static string Run(string workerDll, IEnumerable<string> arguments, string what)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(workerDll);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new SweepUsageException("could not start the worker program (dotnet not on PATH?)");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        var firstError = error.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
        return process.ExitCode switch
        {
            ExitCodes.Success => output.Result.Trim(),
            // The worker's own one-line message ("sweep: ..." or "sweep COMMAND: ..."), without its prefix.
            ExitCodes.BadInput when firstError.StartsWith("sweep", StringComparison.Ordinal) && firstError.IndexOf(": ", StringComparison.Ordinal) is > 0 and var colon =>
                throw new SweepUsageException(firstError[(colon + 2)..]),
            _ => throw new SweepUsageException(
                $"the worker program '{workerDll}' could not {what} (exit {process.ExitCode}: {firstError}); rebuild with ./sweep or set {LocalWorkerPool.WorkerDllVariable}"),
        };
    }
}
