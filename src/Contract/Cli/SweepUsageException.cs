namespace Sweep.Contract.Cli;

/// <summary>
/// A problem with the user's input or environment (bad flag, missing file, unreachable cluster) whose
/// message is one line naming the problem and the fix; the CLI prints it and exits non-zero.
/// </summary>
public sealed class SweepUsageException(string message) : Exception(message);
