namespace Sweep.Models.Training;

/// <summary>How a training run ended (snake_case in JSON: completed, diverged, cancelled, failed).</summary>
public enum TrainingStatus { Completed, Diverged, Cancelled, Failed }

/// <summary>
/// One accuracy check of the Solver: epoch 0 is the check after the first update. Loss is the mean
/// training loss of the iterations since the previous check; Seconds is the wall time since then. CheckpointPath is the
/// trial checkpoint written after this epoch, if one was.
/// </summary>
public sealed record EpochReport(int Epoch, double Loss, double TrainAcc, double ValAcc, double Seconds, string? CheckpointPath = null);

/// <summary>
/// What a training run produced. The histories have one entry per accuracy check (epochs + 1 for a
/// completed run); BestValAcc = max(ValAccHistory), BestEpoch its first epoch; FinalLoss = the last
/// iteration's loss; CheckpointPath = the best weights' file when a checkpoint folder was given.
/// </summary>
public sealed record TrainingOutcome(
    TrainingStatus Status,
    double BestValAcc,
    int BestEpoch,
    IReadOnlyList<double> TrainAccHistory,
    IReadOnlyList<double> ValAccHistory,
    double FinalLoss,
    double Seconds,
    string? CheckpointPath)
{
    public static string StatusName(TrainingStatus status) => status switch
    {
        TrainingStatus.Completed => "completed",
        TrainingStatus.Diverged => "diverged",
        TrainingStatus.Cancelled => "cancelled",
        TrainingStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown status"),
    };
}
