using Sweep.Search.Trials;

namespace Sweep.Worker.Trials;

/// <summary>One slot of a worker: the device its trials run on and the torch threads they may use.</summary>
public sealed record TrialSlot(int Index, string Device, int Threads, string CheckpointDirectory);

/// <summary>
/// One finished epoch, as the training thread reports it. <paramref name="CheckpointPath"/> is a file holding everything
/// needed to continue the trial exactly after this epoch (null when no checkpoint was written for it); from then on
/// the receiver owns the file and deletes it when done with it.
/// </summary>
public sealed record TrialEpochProgress(int Epoch, double Loss, double TrainAcc, double ValAcc, double Seconds, string? CheckpointPath = null);

/// <summary>
/// How one run of a trial starts and checkpoints. <paramref name="ResumeFrom"/> is a local checkpoint file to continue
/// from (null: start at epoch 0); <paramref name="CheckpointEvery"/> writes a checkpoint after every N-th epoch and after
/// the last one (0: never).
/// </summary>
public sealed record TrialRunOptions(string? ResumeFrom = null, int CheckpointEvery = 0)
{
    /// <summary>From epoch 0, no checkpoints.</summary>
    public static TrialRunOptions Fresh { get; } = new();
}

/// <summary>
/// Runs one trial to its end. Called on a dedicated thread (never an actor's), so it may block for as long
/// as training takes. It reports every epoch through <c>onEpoch</c>, honours the cancellation token by
/// returning a result with status cancelled, frees every tensor and device buffer of the trial before it
/// returns. A <see cref="Search.Parameters.TrialParameterException"/> means the trial's configuration is wrong: it is
/// reported as final and never retried. Anything else it throws is worth a retry (the coordinator counts it against
/// the spec's max_retries).
/// </summary>
public interface ITrialRunner
{
    TrialResult Run(TrialSpec trial, TrialSlot slot, TrialRunOptions options, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation);
}
