namespace Sweep.Contract.Protocol;

/// <summary>
/// The failure reasons a worker reports (in <see cref="TrialErrored.Reason"/>) when a trial's child process, rather than
/// the training code, failed: "trial process crashed (signal 11)". The coordinator counts them by this prefix.
/// </summary>
public static class TrialProcessFailure
{
    public const string Prefix = "trial process ";

    /// <summary>
    /// "trial process crashed (signal 11)", "trial process killed (signal 9; out of memory?)" or "trial process exited
    /// with code N". .NET reports a child that a signal ended as 128 + the signal number.
    /// </summary>
    public static string Exited(int exitCode) => Prefix + exitCode switch
    {
        128 + 9 => "killed (signal 9; out of memory?)",
        > 128 and <= 128 + 64 => $"crashed (signal {exitCode - 128})",
        _ => $"exited with code {exitCode}",
    };

    /// <summary>The child sent something that is not a valid message.</summary>
    public static string InvalidMessage(string problem) => $"{Prefix}sent an invalid message ({problem})";

    /// <summary>The child could not be started for the trial.</summary>
    public static string CouldNotStart(string problem) => $"{Prefix}could not start: {problem}";

    public static bool IsProcessFailure(string? reason) => reason?.StartsWith(Prefix, StringComparison.Ordinal) == true;
}
