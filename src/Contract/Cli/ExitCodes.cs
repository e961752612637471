namespace Sweep.Contract.Cli;

/// <summary>The exit codes of every `sweep` command, coordinator-side and worker-side alike.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked (a sweep or a trained model completed).</summary>
    public const int Success = 0;

    /// <summary>The work ended without completing: a sweep stopped early, a trained model diverged or failed, a worker was removed.</summary>
    public const int Unfinished = 1;

    /// <summary>The input or environment is wrong; one line on stderr names the problem and the fix.</summary>
    public const int BadInput = 2;

    /// <summary>Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
