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

/// <summary>
/// Coordinator -> worker: run this trial in one free slot, writing a checkpoint after every
/// <paramref name="CheckpointEvery"/>-th epoch and the last (0: none). With <paramref name="Resume"/>, the run continues from
/// that stored checkpoint: the worker first fetches it with <see cref="CheckpointChunkRequest"/>s.
/// </summary>
public sealed record AssignTrial(TrialSpec Trial, int CheckpointEvery = 0, CheckpointOffer? Resume = null) : ISweepWire;

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

/// <summary>
/// A stored checkpoint a run continues from: <paramref name="FromTrialId"/>'s state after <paramref name="Epoch"/>,
/// <paramref name="TotalLength"/> bytes whose SHA-256 (lower-case hex) is <paramref name="Sha256"/>.
/// </summary>
public sealed record CheckpointOffer(string FromTrialId, int Epoch, long TotalLength, string Sha256);

/// <summary>
/// One piece of a checkpoint file, <see cref="Data"/> at <paramref name="Offset"/> of <paramref name="TotalLength"/> bytes
/// whose SHA-256 is <paramref name="Sha256"/>. Worker -> coordinator: an upload of <paramref name="TrialId"/>'s checkpoint
/// after <paramref name="Epoch"/>, each answered by a <see cref="CheckpointChunkAck"/>. Coordinator -> worker: the answer to a
/// <see cref="CheckpointChunkRequest"/>. <paramref name="WorkerId"/> names the worker either way. Pieces stay well below
/// remoting's frame limit (<see cref="MaxData"/>).
/// </summary>
public sealed record CheckpointChunk(string WorkerId, string TrialId, int Epoch, long Offset, long TotalLength, string Sha256, byte[] Data) : ISweepWire
{
    /// <summary>
    /// Bytes per chunk senders use: 1 MiB, about 1.4 MB as base64 JSON, so that a chunk of <see cref="MaxData"/> still fits
    /// remoting's 4 MiB frame (reference.conf). Every chunk costs a round trip, and successive halving moves a checkpoint
    /// both ways at every rung: 64 KiB chunks took about 3 s to bring a promoted run's checkpoint back to its worker.
    /// </summary>
    public const int ChunkBytes = 1024 * 1024;

    /// <summary>The most a receiver accepts in one chunk.</summary>
    public const int MaxData = 2 * ChunkBytes;

    /// <summary>The largest checkpoint file a receiver accepts (the FC [600]x4 net with Adam state is about 40 MB).</summary>
    public const long MaxTotalLength = 4L * 1024 * 1024 * 1024;

    public bool Equals(CheckpointChunk? other) =>
        other is not null && WorkerId == other.WorkerId && TrialId == other.TrialId && Epoch == other.Epoch && Offset == other.Offset &&
        TotalLength == other.TotalLength && Sha256 == other.Sha256 && Data.AsSpan().SequenceEqual(other.Data);

    public override int GetHashCode() => HashCode.Combine(TrialId, Epoch, Offset, Data.Length);
}

/// <summary>
/// Coordinator -> worker: the store holds the first <paramref name="Received"/> bytes of the upload of
/// <paramref name="TrialId"/>'s checkpoint after <paramref name="Epoch"/>; the next chunk starts there. Not
/// <paramref name="Accepted"/>: the coordinator does not want this checkpoint (stale, refused or corrupt); stop sending it.
/// </summary>
public sealed record CheckpointChunkAck(string TrialId, int Epoch, long Received, bool Accepted = true) : ISweepWire;

/// <summary>
/// Worker -> coordinator: send the piece of the offered checkpoint (<see cref="CheckpointOffer"/>) of the assigned trial
/// <paramref name="TrialId"/> that starts at <paramref name="Offset"/>; everything before it arrived. An offset at the end
/// says the transfer is complete.
/// </summary>
public sealed record CheckpointChunkRequest(string WorkerId, string TrialId, int Epoch, long Offset) : ISweepWire;

/// <summary>
/// Coordinator -> worker: the checkpoint offered for <paramref name="TrialId"/> can no longer be sent (the coordinator
/// restarted, or the run is no longer the worker's); drop the assignment.
/// </summary>
public sealed record CheckpointUnavailable(string TrialId, int Epoch) : ISweepWire;

/// <summary>
/// Worker -> coordinator: the checkpoint of <paramref name="FromTrialId"/> after <paramref name="Epoch"/> offered for the
/// assigned trial <paramref name="TrialId"/> could not be used (<paramref name="Reason"/>: it failed its checksum, or the
/// trainer refused it), so the run is training from epoch 0.
/// </summary>
public sealed record CheckpointRefused(string WorkerId, string TrialId, string FromTrialId, int Epoch, string Reason) : ISweepWire;
