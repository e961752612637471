using System.Diagnostics;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>Runs a system tool (chattr, ip) to its end, for test set-ups that change the machine.</summary>
public static class SystemCommand
{
    /// <summary>The tool's exit code and its stdout followed by its stderr; waits at most 10 s.</summary>
    public static (int Code, string Output) Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit(10_000);
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
