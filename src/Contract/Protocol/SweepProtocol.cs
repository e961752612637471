using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Trials;

namespace Sweep.Contract.Protocol;

/// <summary>
/// Marker for every type that crosses a process boundary (remote messages and the coordinator's
/// snapshot); bound to the System.Text.Json serializer in this library's reference.conf. Journal events are the search
/// library's ISweepEvent, bound to the same serializer.
/// </summary>
public interface ISweepWire;

// Messages carry no actor references: a worker is named by its WorkerId (its actor path, unique per node
// incarnation) and replies go to the Sender of the message being answered.

/// <summary>Worker -> coordinator: a worker node offers its slots. Answered by <see cref="WorkerRegistered"/>.</summary>
public sealed record RegisterWorker(string WorkerId, string NodeAddress, int Slots, string Device) : ISweepWire;

/// <summary>Coordinator -> worker: registration accepted; assignment counting restarts at zero.</summary>
public sealed record WorkerRegistered(string WorkerId, string SweepName) : ISweepWire;

/// <summary>Coordinator -> worker: the coordinator does not know this worker (it restarted); register again.</summary>
public sealed record RegistrationRequired(string WorkerId) : ISweepWire;

/// <summary>
/// Worker -> coordinator: "I want <paramref name="FreeSlots"/> trials". <paramref name="AssignmentsReceived"/>
/// counts the assignments that reached the worker since it registered, so the coordinator can subtract those
/// still in flight and never sends more trials than the worker asked for.
/// </summary>
public sealed record RequestTrials(string WorkerId, int FreeSlots, long AssignmentsReceived) : ISweepWire;

/// <summary>Coordinator -> worker: run this trial in one free slot.</summary>
public sealed record AssignTrial(TrialSpec Trial) : ISweepWire;

/// <summary>Worker -> coordinator: an assignment arrived with no free slot (a race after a coordinator restart); re-queue it.</summary>
public sealed record TrialRejected(string WorkerId, string TrialId) : ISweepWire;

/// <summary>Worker -> coordinator: one finished epoch of a running trial.</summary>
public sealed record TrialEpochReport(
    string WorkerId, string TrialId, int Epoch, double Loss, double TrainAcc, double ValAcc, double Seconds) : ISweepWire;

/// <summary>Worker -> coordinator: a trial ended (completed, diverged or cancelled). Re-sent until acknowledged.</summary>
public sealed record TrialFinished(string WorkerId, string TrialId, TrialResult Result) : ISweepWire;

/// <summary>
/// Worker -> coordinator: a trial threw. The coordinator retries it up to the spec's max_retries, unless
/// <paramref name="Final"/>: a configuration error (the reason names the parameter) fails the same way every time,
/// so the trial fails for good at once. Re-sent until acknowledged.
/// </summary>
public sealed record TrialErrored(string WorkerId, string TrialId, string Reason, bool Final = false) : ISweepWire;

/// <summary>Coordinator -> worker: the outcome of this trial is journaled (or was a duplicate); stop re-sending it.</summary>
public sealed record TrialOutcomeAcknowledged(string TrialId) : ISweepWire;

/// <summary>Coordinator -> worker: stop this trial (timeout, or the sweep no longer needs it).</summary>
public sealed record CancelTrial(string TrialId, string Reason) : ISweepWire;

/// <summary>Anyone -> coordinator: answered by a <see cref="SweepStatus"/>.</summary>
public sealed record GetSweepStatus : ISweepWire;

/// <summary>
/// The coordinator's answer to <see cref="GetSweepStatus"/>: the search library's progress view (stage, counts
/// by status, running trials with epoch and latest val accuracy, best so far, ETA) and the registered workers.
/// </summary>
public sealed record SweepStatus(SweepProgress Progress, int Workers, int Slots) : ISweepWire;

/// <summary>
/// The coordinator's answer to <see cref="GetSweepStatus"/> while its journal cannot be written (a database outage, a
/// read-only folder): since when, and the journal's last error. The coordinator restarts with growing delays meanwhile.
/// </summary>
public sealed record CoordinatorUnavailable(DateTimeOffset Since, string Reason) : ISweepWire;

/// <summary>The coordinator's snapshot: the whole sweep state, saved every few hundred events so recovery stays fast.</summary>
public sealed record CoordinatorSnapshot(SweepState State) : ISweepWire;
