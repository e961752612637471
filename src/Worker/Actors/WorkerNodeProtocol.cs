using Sweep.Contract.Protocol;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Actors;

// Messages between a worker node and its trial executions; they never leave the process.

/// <summary>TrialExecution -> WorkerNode: one epoch finished.</summary>
internal sealed record TrialProgressed(string TrialId, TrialEpochProgress Progress);

/// <summary>TrialExecution -> WorkerNode: the trainer refused the checkpoint the run was to resume from; it trains from epoch 0.</summary>
internal sealed record TrialResumeRefused(string TrialId, string Reason);

/// <summary>
/// TrialExecution -> WorkerNode: the trial's thread has returned (its tensors are freed), so the slot
/// can be offered again; <see cref="Outcome"/> is the TrialFinished or TrialErrored to report.
/// </summary>
internal sealed record TrialExecutionEnded(string TrialId, int SlotIndex, ISweepWire Outcome);

/// <summary>TrialExecution -> itself: the training thread's result or exception.</summary>
internal sealed record TrialThreadReturned(Search.Trials.TrialResult Result);

/// <summary>TrialExecution -> itself: the training thread threw.</summary>
internal sealed record TrialThreadFailed(Exception Error);

/// <summary>WorkerNode timer: register again, ask again for work, re-send unacknowledged outcomes.</summary>
internal sealed record RetryTick
{
    public static readonly RetryTick Instance = new();
}
