using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Engine;

/// <summary>
/// A fact about a sweep, persisted in the journal before the coordinator acts on it. Applying a sweep's events in
/// order (<see cref="SweepState.Apply"/>) rebuilds its state. JSON discriminators (property <c>event</c>) are
/// stable names, never CLR type names.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "event")]
[JsonDerivedType(typeof(SweepStarted), "sweep_started")]
[JsonDerivedType(typeof(StageStarted), "stage_started")]
[JsonDerivedType(typeof(TrialDispatched), "trial_dispatched")]
[JsonDerivedType(typeof(TrialEpochReported), "trial_epoch_reported")]
[JsonDerivedType(typeof(TrialCompleted), "trial_completed")]
[JsonDerivedType(typeof(TrialFailed), "trial_failed")]
[JsonDerivedType(typeof(TrialRequeued), "trial_requeued")]
[JsonDerivedType(typeof(StageCompleted), "stage_completed")]
[JsonDerivedType(typeof(SweepCompleted), "sweep_completed")]
[JsonDerivedType(typeof(TrialCheckpointed), "trial_checkpointed")]
[JsonDerivedType(typeof(TrialResumed), "trial_resumed")]
[JsonDerivedType(typeof(CheckpointDiscarded), "checkpoint_discarded")]
[JsonDerivedType(typeof(TrialResumeAbandoned), "trial_resume_abandoned")]
[JsonDerivedType(typeof(TrialTested), "trial_tested")]
[JsonDerivedType(typeof(TrialPruned), "trial_pruned")]
[JsonDerivedType(typeof(StagePlanned), "stage_planned")]
[JsonDerivedType(typeof(TrialPaused), "trial_paused")]
[JsonDerivedType(typeof(TrialPromoted), "trial_promoted")]
[JsonDerivedType(typeof(TrialsPlanned), "trials_planned")]
public interface ISweepEvent;

/// <summary>The sweep began with this (resolved) spec and seed.</summary>
public sealed record SweepStarted(SweepSpec Spec, long Seed) : ISweepEvent;

/// <summary>Stage <paramref name="Stage"/> (1-based) began; its trials are pending.</summary>
public sealed record StageStarted(int Stage, ImmutableArray<TrialSpec> Trials) : ISweepEvent
{
    public bool Equals(StageStarted? other) => other is not null && Stage == other.Stage && Trials.SequenceEqual(other.Trials);
    public override int GetHashCode() => HashCode.Combine(Stage, Trials.Length);
}

/// <summary>A pending trial was handed to <paramref name="Worker"/>; <paramref name="Attempt"/> counts dispatches from 1.</summary>
public sealed record TrialDispatched(string TrialId, string Worker, int Attempt, DateTimeOffset At) : ISweepEvent;

/// <summary>A running trial finished epoch <paramref name="Epoch"/> (1-based).</summary>
public sealed record TrialEpochReported(string TrialId, int Epoch, double Loss, double TrainAcc, double ValAcc) : ISweepEvent;

/// <summary>
/// A trial finished for good with a result (status <c>completed</c> or <c>diverged</c>) at <paramref name="At"/> (null
/// in journals written before the field existed).
/// </summary>
public sealed record TrialCompleted(string TrialId, TrialResult Result, DateTimeOffset? At = null) : ISweepEvent;

/// <summary>
/// A trial run failed (threw, or timed out). <paramref name="Attempt"/> counts failures from 1; when
/// <paramref name="Terminal"/> the trial is failed for good, otherwise it is pending again for a retry. <paramref name="At"/> is
/// when the failure was recorded (null in journals written before the field existed).
/// </summary>
public sealed record TrialFailed(string TrialId, string Reason, int Attempt, bool Terminal, DateTimeOffset? At = null) : ISweepEvent;

/// <summary>A running trial went back to the queue without counting as a failure (worker lost, coordinator restarted, run cancelled).</summary>
public sealed record TrialRequeued(string TrialId, string Reason) : ISweepEvent;

/// <summary>Every trial of stage <paramref name="Stage"/> reached a terminal status.</summary>
public sealed record StageCompleted(int Stage) : ISweepEvent;

/// <summary>The last stage completed; the sweep is done.</summary>
public sealed record SweepCompleted : ISweepEvent;

/// <summary>
/// The coordinator's checkpoint store holds <paramref name="TrialId"/>'s state after epoch <paramref name="Epoch"/>
/// (<paramref name="Bytes"/> bytes whose SHA-256 is <paramref name="Sha256"/>, lower-case hex); journaled only once the
/// file is verified and in place.
/// </summary>
public sealed record TrialCheckpointed(string TrialId, int Epoch, string Sha256, long Bytes) : ISweepEvent;

/// <summary>
/// The current run of <paramref name="TrialId"/> continues from the stored checkpoint of <paramref name="FromTrialId"/>
/// after epoch <paramref name="Epoch"/>: the trial itself (a re-queued run), or the previous-stage trial whose config
/// was carried over. Its epoch reports go on from <paramref name="Epoch"/> + 1.
/// </summary>
public sealed record TrialResumed(string TrialId, string FromTrialId, int Epoch) : ISweepEvent;

/// <summary>
/// The stored checkpoint of <paramref name="FromTrialId"/> (epoch <paramref name="Epoch"/>) could not be used for
/// <paramref name="TrialId"/>: missing or failing its checksum. The run starts from epoch 0 instead; a warning, never
/// a failure.
/// </summary>
public sealed record CheckpointDiscarded(string TrialId, string FromTrialId, int Epoch, string Reason) : ISweepEvent;

/// <summary>
/// The worker running <paramref name="TrialId"/> could not use the checkpoint of <paramref name="FromTrialId"/> after
/// <paramref name="Epoch"/> that its run was to resume from (the download failed its checksum, or the trainer refused the
/// file), and trained the run from epoch 0 instead: the run no longer counts as resumed, and its epoch reports start
/// again at 1. The stored file is left alone: the fault may lie in the transfer, not the store. A warning, never a failure.
/// </summary>
public sealed record TrialResumeAbandoned(string TrialId, string FromTrialId, int Epoch, string Reason) : ISweepEvent;

/// <summary>
/// `sweep test` evaluated the best weights of finished trial <paramref name="TrialId"/> once on the test split:
/// <paramref name="TestAcc"/> over <paramref name="NumTest"/> images, at <paramref name="At"/>. A later one for the same
/// trial (`--force`) replaces it.
/// </summary>
public sealed record TrialTested(string TrialId, double TestAcc, int NumTest, DateTimeOffset At) : ISweepEvent;

/// <summary>
/// The spec's pruning rule stopped a running trial after epoch <paramref name="Epoch"/>: it is <c>pruned</c> for good (its
/// best val accuracy and epoch count come from its epoch reports) and the coordinator cancels its run.
/// <paramref name="Reason"/> holds the figures the rule decided on.
/// </summary>
public sealed record TrialPruned(string TrialId, int Epoch, string Reason, DateTimeOffset? At = null) : ISweepEvent;

/// <summary>
/// With <c>stage_start = eager</c>: stage <paramref name="Stage"/> is planned from exactly the finished trials
/// <paramref name="BasedOn"/> (the quorum of the previous stage, and earlier stages); its StageStarted follows. The last
/// stage_planned of a stage before its stage_started is the plan it ran.
/// </summary>
public sealed record StagePlanned(int Stage, ImmutableArray<string> BasedOn) : ISweepEvent
{
    public bool Equals(StagePlanned? other) => other is not null && Stage == other.Stage && BasedOn.SequenceEqual(other.BasedOn);
    public override int GetHashCode() => HashCode.Combine(Stage, BasedOn.Length);
}

/// <summary>
/// With successive halving or ASHA: the run of <paramref name="TrialId"/> ended at the rung after epoch
/// <paramref name="Epoch"/> with <paramref name="Result"/> (its histories from epoch 0, including any epochs it resumed
/// with), and its checkpoint after that epoch is stored. The trial is <c>paused</c>: open, holding no slot, until the rule
/// promotes it (<see cref="TrialPromoted"/>) or prunes it (<see cref="TrialPruned"/>).
/// </summary>
public sealed record TrialPaused(string TrialId, int Epoch, TrialResult Result, DateTimeOffset? At = null) : ISweepEvent;

/// <summary>
/// The rule promoted paused trial <paramref name="TrialId"/> past rung <paramref name="Rung"/> (0-based): it is pending
/// again, and its next run resumes from its checkpoint and trains to the next rung, or to the end of its budget after the
/// last one. <paramref name="Reason"/> holds the figures the rule decided on.
/// </summary>
public sealed record TrialPromoted(string TrialId, int Rung, string Reason) : ISweepEvent;

/// <summary>
/// With a stage proposed one free slot at a time (<see cref="Specs.SweepSpec.PlansPerSlot"/>): these trials join stage
/// <paramref name="Stage"/>, pending, after the ones it has; its <see cref="StageStarted"/> held none of them.
/// </summary>
public sealed record TrialsPlanned(int Stage, ImmutableArray<TrialSpec> Trials) : ISweepEvent
{
    public bool Equals(TrialsPlanned? other) => other is not null && Stage == other.Stage && Trials.SequenceEqual(other.Trials);
    public override int GetHashCode() => HashCode.Combine(Stage, Trials.Length);
}
