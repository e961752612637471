using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Sweep.Search.Progress;
using Sweep.Search.Sampling;
using Sweep.Search.Serialization;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Engine;

/// <summary>One trial as the sweep state tracks it.</summary>
/// <param name="Spec">What to run.</param>
/// <param name="Index">1-based position within its stage.</param>
/// <param name="Ordinal">Global dispatch order (stage order, then index).</param>
/// <param name="Status">Current status.</param>
/// <param name="Attempts">How many times it was dispatched.</param>
/// <param name="Failures">How many runs failed (counts toward the retry limit).</param>
/// <param name="Worker">The worker running it (or that ran it last).</param>
/// <param name="DispatchedAt">When the current/last run was dispatched.</param>
/// <param name="LastEpoch">The latest per-epoch report of the current run.</param>
/// <param name="Result">The final result, once completed or diverged.</param>
/// <param name="FailureReason">The latest failure reason.</param>
/// <param name="FinishOrder">1-based order in which trials reached a terminal status; 0 while open.</param>
/// <param name="EpochHistory">Every per-epoch report of the current/last run, in epoch order (null before the first).</param>
/// <param name="FinishedAt">When the trial reached its terminal status (null while open, or in journals older than the field).</param>
/// <param name="Checkpoint">The latest checkpoint the coordinator stored for this trial, with the epoch reports it covers (null: none).</param>
/// <param name="ResumedFrom">Where the current/last run continued from (null: it started at epoch 0).</param>
/// <param name="Test">Its best weights' accuracy on the test split, once `sweep test` measured it.</param>
/// <param name="RungValues">With successive halving or ASHA: its figure at each rung it got to (index k: rung k), the best val
/// accuracy over epochs 1..that rung's epoch; null before the first.</param>
/// <param name="PausedRuns">Its runs that ended at a rung (the trial paused), oldest first, for slot accounting; null: none.</param>
/// <param name="PausedResult">The result of its latest run that ended at a rung: what a paused trial, or one pruned at a rung,
/// stands on (histories from epoch 0); null: none.</param>
public sealed record TrialState(
    TrialSpec Spec,
    int Index,
    long Ordinal,
    TrialStatus Status,
    int Attempts = 0,
    int Failures = 0,
    string? Worker = null,
    DateTimeOffset? DispatchedAt = null,
    EpochProgress? LastEpoch = null,
    TrialResult? Result = null,
    string? FailureReason = null,
    long FinishOrder = 0,
    ImmutableList<EpochProgress>? EpochHistory = null,
    DateTimeOffset? FinishedAt = null,
    StoredCheckpoint? Checkpoint = null,
    ResumePoint? ResumedFrom = null,
    TrialTested? Test = null,
    ImmutableList<double>? RungValues = null,
    ImmutableList<PausedRun>? PausedRuns = null,
    TrialResult? PausedResult = null)
{
    [JsonIgnore] public string TrialId => Spec.TrialId;

    /// <summary>The per-epoch reports of the current/last run; empty before the first.</summary>
    [JsonIgnore] public IReadOnlyList<EpochProgress> Epochs => EpochHistory ?? [];

    /// <summary>Its figure at each rung it got to; empty before the first (and without successive halving or ASHA).</summary>
    [JsonIgnore] public IReadOnlyList<double> Rungs => RungValues ?? [];

    /// <summary>Its runs that ended at a rung, oldest first.</summary>
    [JsonIgnore] public IReadOnlyList<PausedRun> EarlierRuns => PausedRuns ?? [];

    // Value equality over the epoch list too (the compiler's would compare the list by reference).
    public bool Equals(TrialState? other) =>
        other is not null && Spec == other.Spec && Index == other.Index && Ordinal == other.Ordinal && Status == other.Status &&
        Attempts == other.Attempts && Failures == other.Failures && Worker == other.Worker && DispatchedAt == other.DispatchedAt &&
        LastEpoch == other.LastEpoch && Result == other.Result && FailureReason == other.FailureReason &&
        FinishOrder == other.FinishOrder && Epochs.SequenceEqual(other.Epochs) && FinishedAt == other.FinishedAt &&
        Checkpoint == other.Checkpoint && ResumedFrom == other.ResumedFrom && Test == other.Test &&
        Rungs.SequenceEqual(other.Rungs) && EarlierRuns.SequenceEqual(other.EarlierRuns) && PausedResult == other.PausedResult;

    public override int GetHashCode() => HashCode.Combine(Spec, Ordinal, Status, Attempts, Worker, Result, FinishOrder);
    [JsonIgnore] public int Stage => Spec.Stage;
    [JsonIgnore] public bool IsTerminal => Status.IsTerminal();

    // A pruned or paused trial has no final result: its run was cancelled (median rule) and its outcome is what its epoch
    // reports say, or its run ended at a rung and that run's result speaks for it.

    /// <summary>The result that speaks for the trial: its final one, or for a trial paused or pruned at a rung, its last rung's.</summary>
    [JsonIgnore] public TrialResult? Outcome => Result ?? (Status is TrialStatus.Pruned or TrialStatus.Paused ? PausedResult : null);

    private bool OutcomeFromReports => Status is TrialStatus.Pruned or TrialStatus.Paused;

    /// <summary>Best val accuracy: the <see cref="Outcome"/>'s, or a pruned trial's best epoch report; 0 without either.</summary>
    [JsonIgnore] public double BestValAcc => Outcome?.BestValAcc ?? (OutcomeFromReports && Epochs.Count > 0 ? Epochs.Max(e => e.ValAcc) : 0);

    /// <summary>The epoch of <see cref="BestValAcc"/> (the first one on a tie); 0 without a result or reported epochs.</summary>
    [JsonIgnore] public int BestEpoch => Outcome?.BestEpoch ?? (OutcomeFromReports && Epochs.Count > 0 ? Epochs.MaxBy(e => e.ValAcc)!.Epoch : 0);

    /// <summary>Epochs trained: the <see cref="Outcome"/>'s, or the epochs a pruned trial reported before it was stopped.</summary>
    [JsonIgnore] public int EpochsRun => Outcome?.EpochsRun ?? (OutcomeFromReports ? Epochs.Count : 0);
}

/// <summary>
/// A run that ended at a rung: on <paramref name="Worker"/> from <paramref name="Start"/> until <paramref name="End"/>
/// (when the pause was recorded; null in states without the time), training for <paramref name="Seconds"/>.
/// </summary>
public sealed record PausedRun(string? Worker, DateTimeOffset? Start, DateTimeOffset? End, double Seconds);

/// <summary>
/// A trial's checkpoint in the coordinator's store: after epoch <paramref name="Epoch"/>, with the SHA-256 and size the
/// store verified, and the epoch reports up to that epoch (a run resumed from it starts its history with them).
/// </summary>
public sealed record StoredCheckpoint(int Epoch, string Sha256, long Bytes, ImmutableList<EpochProgress>? Epochs = null)
{
    public bool Equals(StoredCheckpoint? other) =>
        other is not null && Epoch == other.Epoch && Sha256 == other.Sha256 && Bytes == other.Bytes &&
        (Epochs ?? []).SequenceEqual(other.Epochs ?? []);

    public override int GetHashCode() => HashCode.Combine(Epoch, Sha256, Bytes);
}

/// <summary>A run continued from <paramref name="FromTrialId"/>'s checkpoint after epoch <paramref name="Epoch"/>.</summary>
public sealed record ResumePoint(string FromTrialId, int Epoch)
{
    /// <summary>How tables show it: <c>s1-t0003@2</c>.</summary>
    public override string ToString() => $"{FromTrialId}@{Epoch}";
}

/// <summary>Counts of trials by status.</summary>
public sealed record StatusCounts(int Pending, int Running, int Completed, int Diverged, int Failed, int Cancelled, int Pruned = 0, int Paused = 0)
{
    public static readonly StatusCounts Zero = new(0, 0, 0, 0, 0, 0);

    [JsonIgnore] public int Total => Pending + Running + Completed + Diverged + Failed + Cancelled + Pruned + Paused;
    [JsonIgnore] public int Terminal => Completed + Diverged + Failed + Cancelled + Pruned;

    public int this[TrialStatus status] => status switch
    {
        TrialStatus.Pending => Pending,
        TrialStatus.Running => Running,
        TrialStatus.Completed => Completed,
        TrialStatus.Diverged => Diverged,
        TrialStatus.Failed => Failed,
        TrialStatus.Pruned => Pruned,
        TrialStatus.Paused => Paused,
        _ => Cancelled,
    };

    public StatusCounts Add(TrialStatus status, int delta) => status switch
    {
        TrialStatus.Pending => this with { Pending = Pending + delta },
        TrialStatus.Running => this with { Running = Running + delta },
        TrialStatus.Completed => this with { Completed = Completed + delta },
        TrialStatus.Diverged => this with { Diverged = Diverged + delta },
        TrialStatus.Failed => this with { Failed = Failed + delta },
        TrialStatus.Pruned => this with { Pruned = Pruned + delta },
        TrialStatus.Paused => this with { Paused = Paused + delta },
        _ => this with { Cancelled = Cancelled + delta },
    };

    public StatusCounts Move(TrialStatus from, TrialStatus to) => Add(from, -1).Add(to, 1);

    public override string ToString() =>
        $"{Pending} pending, {Running} running" + (Paused > 0 ? $", {Paused} paused" : "") + $", {Completed} completed, {Diverged} diverged, {Failed} failed" +
        (Pruned > 0 ? $", {Pruned} pruned" : "") + (Cancelled > 0 ? $", {Cancelled} cancelled" : "");
}

/// <summary>
/// The state of one sweep, rebuilt by applying its journal events in order. Immutable: <see cref="Apply"/> returns a
/// new state in O(log n) per trial touched (immutable collections share structure), so replaying or snapshotting
/// 10,000+ trials stays cheap. Apply is forgiving: an event that does not fit the state (a second completion, a
/// report for a finished trial) leaves the state unchanged, which makes completion idempotent.
/// </summary>
[JsonConverter(typeof(SweepStateJsonConverter))]
public sealed record SweepState
{
    public static readonly SweepState Empty = new();

    /// <summary>The spec of the sweep, null before SweepStarted.</summary>
    public SweepSpec? Spec { get; private init; }
    public long Seed { get; private init; }

    /// <summary>The latest started stage (1-based); 0 before the first.</summary>
    public int CurrentStage { get; private init; }

    /// <summary>The latest stage for which StageCompleted was applied; 0 before.</summary>
    public int LastCompletedStage { get; private init; }

    public bool IsCompleted { get; private init; }

    public ImmutableDictionary<string, TrialState> Trials { get; private init; } = ImmutableDictionary<string, TrialState>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>Trial ids of each stage, in index order.</summary>
    public ImmutableDictionary<int, ImmutableArray<string>> StageTrials { get; private init; } = ImmutableDictionary<int, ImmutableArray<string>>.Empty;

    /// <summary>Pending trials in dispatch order (ordinal).</summary>
    public ImmutableSortedSet<(long Ordinal, string TrialId)> Pending { get; private init; } = [];

    /// <summary>Running trial ids by worker.</summary>
    public ImmutableDictionary<string, ImmutableSortedSet<string>> RunningByWorker { get; private init; } = ImmutableDictionary<string, ImmutableSortedSet<string>>.Empty.WithComparers(StringComparer.Ordinal);

    public StatusCounts Counts { get; private init; } = StatusCounts.Zero;

    /// <summary>Open (pending or running) trials per stage.</summary>
    public ImmutableDictionary<int, int> OpenByStage { get; private init; } = ImmutableDictionary<int, int>.Empty;

    /// <summary>The best completed trial so far (leaderboard order), null before any completed.</summary>
    public string? BestTrialId { get; private init; }

    public long FinishedCount { get; private init; }
    public long NextOrdinal { get; private init; }

    public bool IsStarted => Spec is not null;

    public int StageCount => Spec?.Stages.Length ?? 0;

    public TrialState? FindTrial(string trialId) => Trials.TryGetValue(trialId, out var t) ? t : null;

    public TrialState GetTrial(string trialId) =>
        FindTrial(trialId) ?? throw new KeyNotFoundException($"the sweep has no trial '{trialId}'");

    /// <summary>Whether every trial of <paramref name="stage"/> is planned and terminal (and the stage exists).</summary>
    public bool IsStageFinished(int stage) =>
        StageTrials.TryGetValue(stage, out var ids) && OpenByStage.GetValueOrDefault(stage) == 0 && ids.Length >= PlannedTarget(stage);

    /// <summary>
    /// How many trials <paramref name="stage"/> runs once fully planned: its count when its configs are proposed one free
    /// slot at a time (<see cref="SweepSpec.PlansPerSlot"/>), otherwise the trials it started with.
    /// </summary>
    public int PlannedTarget(int stage) =>
        Spec is { PlansPerSlot: true } spec && stage >= 1 && stage <= spec.Stages.Length ? spec.Stages[stage - 1].Count
        : StageTrials.TryGetValue(stage, out var ids) ? ids.Length : 0;

    /// <summary>The started stages that still have trials to plan (one free slot at a time), lowest first.</summary>
    public IEnumerable<int> StagesToPlan =>
        Spec is { PlansPerSlot: true }
            ? StageTrials.Keys.Where(stage => stage > LastCompletedStage && StageTrials[stage].Length < PlannedTarget(stage)).Order()
            : [];

    public IEnumerable<TrialState> TrialsOfStage(int stage) =>
        StageTrials.TryGetValue(stage, out var ids) ? ids.Select(id => Trials[id]) : [];

    public IEnumerable<TrialState> RunningTrials =>
        RunningByWorker.Values.SelectMany(ids => ids).Select(id => Trials[id]).OrderBy(t => t.Ordinal);

    /// <summary>
    /// What a sampler asked one free slot at a time learns from: the finished trials of stages 1..<paramref name="stage"/>,
    /// and those paused at a rung, whose last run's result is in.
    /// </summary>
    public ImmutableArray<TrialSnapshot> EvidenceUpTo(int stage) =>
        [.. Enumerable.Range(1, Math.Max(0, stage)).SelectMany(TrialsOfStage).Where(t => t.IsTerminal || t.Status == TrialStatus.Paused).Select(ToSnapshot)];

    /// <summary>Finished (terminal) trials of stages before <paramref name="stage"/>, as samplers see them.</summary>
    public ImmutableArray<TrialSnapshot> HistoryBefore(int stage) =>
        [.. Enumerable.Range(1, Math.Max(0, stage - 1)).SelectMany(TrialsOfStage).Where(t => t.IsTerminal).Select(ToSnapshot)];

    public TrialSnapshot ToSnapshot(TrialState trial) => new(
        trial.TrialId, trial.Stage, trial.Index,
        Spec is null ? trial.Spec.Params : trial.Spec.Params.Only(Spec.Space.Dimensions.Select(d => d.Name)),
        trial.Status, trial.BestValAcc, trial.BestEpoch, trial.EpochsRun);

    /// <summary>Applies every event in order.</summary>
    public static SweepState Replay(IEnumerable<ISweepEvent> events)
    {
        var state = Empty;
        foreach (var e in events) state = state.Apply(e);
        return state;
    }

    /// <summary>Replays, then puts dispatched-but-unfinished trials back to pending (as after a coordinator restart).</summary>
    public static SweepState Recover(IEnumerable<ISweepEvent> events)
    {
        var state = Replay(events);
        foreach (var e in SweepEngine.RequeueInFlight(state, "coordinator restarted")) state = state.Apply(e);
        return state;
    }

    public SweepState Apply(ISweepEvent sweepEvent) => sweepEvent switch
    {
        SweepStarted e => Spec is null ? this with { Spec = e.Spec, Seed = e.Seed } : this,
        StageStarted e => ApplyStageStarted(e),
        TrialDispatched e => ApplyDispatched(e),
        TrialEpochReported e => ApplyEpoch(e),
        TrialCompleted e => ApplyCompleted(e),
        TrialFailed e => ApplyFailed(e),
        TrialRequeued e => ApplyRequeued(e),
        StageCompleted e => e.Stage > LastCompletedStage ? this with { LastCompletedStage = e.Stage } : this,
        SweepCompleted => this with { IsCompleted = true },
        TrialCheckpointed e => ApplyCheckpointed(e),
        TrialResumed e => ApplyResumed(e),
        CheckpointDiscarded e => ApplyDiscarded(e),
        TrialResumeAbandoned e => ApplyResumeAbandoned(e),
        TrialTested e => ApplyTested(e),
        TrialPruned e => ApplyPruned(e),
        StagePlanned => this,
        TrialPaused e => ApplyPaused(e),
        TrialPromoted e => ApplyPromoted(e),
        TrialsPlanned e => ApplyTrialsPlanned(e),
        _ => throw new ArgumentException($"unknown sweep event {sweepEvent.GetType().Name}"),
    };

    private SweepState ApplyStageStarted(StageStarted e) =>
        StageTrials.ContainsKey(e.Stage) ? this : (this with { CurrentStage = Math.Max(CurrentStage, e.Stage) }).AddTrials(e.Stage, e.Trials);

    // Trials planned one free slot at a time join a started stage, after its trials (indexes and ids follow on).
    private SweepState ApplyTrialsPlanned(TrialsPlanned e) =>
        StageTrials.TryGetValue(e.Stage, out var ids) && e.Trials.All(t => !Trials.ContainsKey(t.TrialId)) && ids.Length + e.Trials.Length <= PlannedTarget(e.Stage)
            ? AddTrials(e.Stage, e.Trials)
            : this;

    private SweepState AddTrials(int stage, ImmutableArray<TrialSpec> specs)
    {
        var trials = Trials.ToBuilder();
        var pending = Pending.ToBuilder();
        var ordinal = NextOrdinal;
        var existing = StageTrials.TryGetValue(stage, out var ids) ? ids : [];
        var index = existing.Length;
        foreach (var spec in specs)
        {
            index++;
            var trial = new TrialState(spec, index, ordinal++, TrialStatus.Pending);
            trials[spec.TrialId] = trial;
            pending.Add((trial.Ordinal, spec.TrialId));
        }
        return this with
        {
            Trials = trials.ToImmutable(),
            Pending = pending.ToImmutable(),
            StageTrials = StageTrials.SetItem(stage, existing.AddRange(specs.Select(t => t.TrialId))),
            OpenByStage = OpenByStage.SetItem(stage, OpenByStage.GetValueOrDefault(stage) + specs.Length),
            Counts = Counts.Add(TrialStatus.Pending, specs.Length),
            NextOrdinal = ordinal,
        };
    }

    private SweepState ApplyDispatched(TrialDispatched e)
    {
        if (FindTrial(e.TrialId) is not { Status: TrialStatus.Pending } trial) return this;
        var updated = trial with
        {
            Status = TrialStatus.Running,
            Attempts = Math.Max(trial.Attempts + 1, e.Attempt),
            Worker = e.Worker,
            DispatchedAt = e.At,
            LastEpoch = null,
            EpochHistory = null,
            ResumedFrom = null,
        };
        return this with
        {
            Trials = Trials.SetItem(e.TrialId, updated),
            Pending = Pending.Remove((trial.Ordinal, trial.TrialId)),
            RunningByWorker = RunningByWorker.SetItem(e.Worker, RunningByWorker.GetValueOrDefault(e.Worker, ImmutableSortedSet<string>.Empty.WithComparer(StringComparer.Ordinal)).Add(e.TrialId)),
            Counts = Counts.Move(TrialStatus.Pending, TrialStatus.Running),
        };
    }

    private SweepState ApplyEpoch(TrialEpochReported e)
    {
        if (FindTrial(e.TrialId) is not { Status: TrialStatus.Running } trial) return this;
        if (trial.LastEpoch is { } last && last.Epoch >= e.Epoch) return this;
        var epoch = new EpochProgress(e.Epoch, e.Loss, e.TrainAcc, e.ValAcc);
        var history = (trial.EpochHistory ?? ImmutableList<EpochProgress>.Empty).Add(epoch);
        return this with { Trials = Trials.SetItem(e.TrialId, trial with { LastEpoch = epoch, EpochHistory = history }) };
    }

    private SweepState ApplyCompleted(TrialCompleted e)
    {
        if (FindTrial(e.TrialId) is not { } trial || trial.IsTerminal) return this;
        var status = e.Result.Status == TrialStatus.Diverged ? TrialStatus.Diverged : TrialStatus.Completed;
        var finished = trial with
        {
            Status = status,
            Result = e.Result,
            Worker = e.Result.Worker ?? trial.Worker,
            FinishOrder = FinishedCount + 1,
            FinishedAt = e.At,
        };
        var next = Close(trial, finished);
        if (status == TrialStatus.Completed && (BestTrialId is null || LeaderboardOrder.Compare(finished, Trials[BestTrialId]) < 0))
            next = next with { BestTrialId = finished.TrialId };
        return next;
    }

    private SweepState ApplyFailed(TrialFailed e)
    {
        if (FindTrial(e.TrialId) is not { } trial || trial.IsTerminal) return this;
        var failures = Math.Max(trial.Failures + 1, e.Attempt);
        if (e.Terminal)
            return Close(trial, trial with { Status = TrialStatus.Failed, Failures = failures, FailureReason = e.Reason, FinishOrder = FinishedCount + 1, FinishedAt = e.At });
        return Reopen(trial, trial with { Status = TrialStatus.Pending, Failures = failures, FailureReason = e.Reason, LastEpoch = null, EpochHistory = null });
    }

    // Only a finished trial has best weights to test.
    private SweepState ApplyTested(TrialTested e) =>
        FindTrial(e.TrialId) is { IsTerminal: true } trial ? this with { Trials = Trials.SetItem(e.TrialId, trial with { Test = e }) } : this;
    private SweepState ApplyPruned(TrialPruned e)
    {
        if (FindTrial(e.TrialId) is not { Status: TrialStatus.Running or TrialStatus.Paused } trial) return this;
        return Close(trial, trial with { Status = TrialStatus.Pruned, FinishOrder = FinishedCount + 1, FinishedAt = e.At });
    }

    /// <summary>
    /// The run ended at a rung: the trial holds no slot and keeps its epoch reports; its figure at every rung up to the
    /// epoch is taken from the result's val history (index e: epoch e), which covers any epochs it resumed with.
    /// </summary>
    private SweepState ApplyPaused(TrialPaused e)
    {
        if (FindTrial(e.TrialId) is not { Status: TrialStatus.Running } trial || Spec is null) return this;
        var rungs = Spec.RungEpochsOf(trial.Stage);
        var values = (trial.RungValues ?? ImmutableList<double>.Empty).ToBuilder();
        var history = e.Result.ValAccHistory.IsDefault ? [] : e.Result.ValAccHistory;
        for (var k = values.Count; k < rungs.Length && rungs[k] <= e.Epoch; k++)
            values.Add(history.Skip(1).Take(rungs[k]).DefaultIfEmpty(0).Max());
        var run = new PausedRun(trial.Worker, trial.DispatchedAt, e.At, e.Result.Seconds);
        var paused = trial with
        {
            Status = TrialStatus.Paused,
            RungValues = values.ToImmutable(),
            PausedRuns = (trial.PausedRuns ?? ImmutableList<PausedRun>.Empty).Add(run),
            PausedResult = e.Result,
        };
        return (this with { Trials = Trials.SetItem(e.TrialId, paused), Counts = Counts.Move(TrialStatus.Running, TrialStatus.Paused) }).WithoutRunning(trial);
    }

    /// <summary>A paused trial promoted past the rung it waits at is pending again, in its old place in the queue.</summary>
    private SweepState ApplyPromoted(TrialPromoted e)
    {
        if (FindTrial(e.TrialId) is not { Status: TrialStatus.Paused } trial || e.Rung != trial.Rungs.Count - 1) return this;
        return this with
        {
            Trials = Trials.SetItem(e.TrialId, trial with { Status = TrialStatus.Pending }),
            Pending = Pending.Add((trial.Ordinal, trial.TrialId)),
            Counts = Counts.Move(TrialStatus.Paused, TrialStatus.Pending),
        };
    }

    private SweepState ApplyRequeued(TrialRequeued e)
    {
        if (FindTrial(e.TrialId) is not { Status: TrialStatus.Running } trial) return this;
        return Reopen(trial, trial with { Status = TrialStatus.Pending, LastEpoch = null, EpochHistory = null });
    }

    private SweepState ApplyCheckpointed(TrialCheckpointed e)
    {
        if (FindTrial(e.TrialId) is not { } trial || (trial.Checkpoint is { } held && held.Epoch > e.Epoch)) return this;
        var covered = ImmutableList.CreateRange(trial.Epochs.Where(p => p.Epoch <= e.Epoch));
        return this with { Trials = Trials.SetItem(e.TrialId, trial with { Checkpoint = new StoredCheckpoint(e.Epoch, e.Sha256, e.Bytes, covered) }) };
    }

    /// <summary>The run's history starts with the epochs the checkpoint covers, so its reports go on from the next one.</summary>
    private SweepState ApplyResumed(TrialResumed e)
    {
        if (FindTrial(e.TrialId) is not { Status: TrialStatus.Running } trial) return this;
        var inherited = FindTrial(e.FromTrialId)?.Checkpoint is { } source && source.Epoch == e.Epoch
            ? source.Epochs ?? ImmutableList<EpochProgress>.Empty
            : ImmutableList<EpochProgress>.Empty;
        var resumed = trial with
        {
            ResumedFrom = new ResumePoint(e.FromTrialId, e.Epoch),
            EpochHistory = inherited.IsEmpty ? null : inherited,
            LastEpoch = inherited.IsEmpty ? null : inherited[^1],
        };
        return this with { Trials = Trials.SetItem(e.TrialId, resumed) };
    }

    private SweepState ApplyResumeAbandoned(TrialResumeAbandoned e) =>
        FindTrial(e.TrialId) is { Status: TrialStatus.Running } trial && trial.ResumedFrom == new ResumePoint(e.FromTrialId, e.Epoch)
            ? this with { Trials = Trials.SetItem(e.TrialId, trial with { ResumedFrom = null, EpochHistory = null, LastEpoch = null }) }
            : this;

    private SweepState ApplyDiscarded(CheckpointDiscarded e) =>
        FindTrial(e.FromTrialId) is { Checkpoint: { } held } source && held.Epoch == e.Epoch
            ? this with { Trials = Trials.SetItem(e.FromTrialId, source with { Checkpoint = null }) }
            : this;

    private SweepState Reopen(TrialState before, TrialState after)
    {
        var state = this with
        {
            Trials = Trials.SetItem(after.TrialId, after),
            Pending = Pending.Add((after.Ordinal, after.TrialId)),
        };
        if (before.Status == TrialStatus.Running) return state.WithoutRunning(before) with { Counts = Counts.Move(TrialStatus.Running, TrialStatus.Pending) };
        return state;
    }

    private SweepState Close(TrialState before, TrialState after)
    {
        var state = this with
        {
            Trials = Trials.SetItem(after.TrialId, after),
            Counts = Counts.Move(before.Status, after.Status),
            OpenByStage = OpenByStage.SetItem(after.Stage, OpenByStage.GetValueOrDefault(after.Stage) - 1),
            FinishedCount = FinishedCount + 1,
        };
        return before.Status == TrialStatus.Running
            ? state.WithoutRunning(before)
            : state with { Pending = Pending.Remove((before.Ordinal, before.TrialId)) };
    }

    private SweepState WithoutRunning(TrialState trial)
    {
        if (trial.Worker is null || !RunningByWorker.TryGetValue(trial.Worker, out var ids)) return this;
        var remaining = ids.Remove(trial.TrialId);
        return this with { RunningByWorker = remaining.IsEmpty ? RunningByWorker.Remove(trial.Worker) : RunningByWorker.SetItem(trial.Worker, remaining) };
    }

    /// <summary>Progress the coordinator can show: counts, running trials, best so far and an ETA.</summary>
    public SweepProgress Progress(DateTimeOffset now) => SweepProgress.Of(this, now);

    /// <summary>Rebuilds a state from its trials (used when reading a snapshot).</summary>
    internal static SweepState FromSnapshot(SweepSpec? spec, long seed, int currentStage, int lastCompletedStage, bool completed, IEnumerable<TrialState> trials)
    {
        var state = Empty with { Spec = spec, Seed = seed, CurrentStage = currentStage, LastCompletedStage = lastCompletedStage, IsCompleted = completed };
        var all = trials.OrderBy(t => t.Ordinal).ToList();
        var byId = ImmutableDictionary.CreateBuilder<string, TrialState>(StringComparer.Ordinal);
        var pending = ImmutableSortedSet.CreateBuilder<(long, string)>();
        var running = new Dictionary<string, ImmutableSortedSet<string>.Builder>(StringComparer.Ordinal);
        var open = new Dictionary<int, int>();
        var counts = StatusCounts.Zero;
        string? best = null;
        foreach (var t in all)
        {
            byId[t.TrialId] = t;
            counts = counts.Add(t.Status, 1);
            open[t.Stage] = open.GetValueOrDefault(t.Stage) + (t.IsTerminal ? 0 : 1);
            if (t.Status == TrialStatus.Pending) pending.Add((t.Ordinal, t.TrialId));
            if (t.Status == TrialStatus.Running && t.Worker is not null)
            {
                if (!running.TryGetValue(t.Worker, out var set)) running[t.Worker] = set = ImmutableSortedSet.CreateBuilder<string>(StringComparer.Ordinal);
                set.Add(t.TrialId);
            }
            if (t.Status == TrialStatus.Completed && (best is null || LeaderboardOrder.Compare(t, byId[best]) < 0)) best = t.TrialId;
        }
        return state with
        {
            Trials = byId.ToImmutable(),
            StageTrials = all.GroupBy(t => t.Stage).ToImmutableDictionary(g => g.Key, g => g.OrderBy(t => t.Index).Select(t => t.TrialId).ToImmutableArray()),
            Pending = pending.ToImmutable(),
            RunningByWorker = running.ToImmutableDictionary(kv => kv.Key, kv => kv.Value.ToImmutable(), StringComparer.Ordinal),
            OpenByStage = open.ToImmutableDictionary(),
            Counts = counts,
            BestTrialId = best,
            FinishedCount = all.Count(t => t.FinishOrder > 0) == 0 ? 0 : all.Max(t => t.FinishOrder),
            NextOrdinal = all.Count == 0 ? 0 : all[^1].Ordinal + 1,
        };
    }
}

/// <summary>
/// Leaderboard order of finished trials: completed before everything else, then best val accuracy (desc), then
/// fewer epochs run, then earlier finish. Pruned trials come after every completed one and before diverged, failed
/// and cancelled ones (<see cref="Sampling.PrunedRanking"/>), by best val accuracy (desc), then more epochs run.
/// </summary>
public static class LeaderboardOrder
{
    public static int Compare(TrialState a, TrialState b)
    {
        var aOk = a.Status == TrialStatus.Completed;
        var bOk = b.Status == TrialStatus.Completed;
        if (aOk != bOk) return aOk ? -1 : 1;
        if (aOk)
        {
            var byAcc = (b.Result?.BestValAcc ?? 0).CompareTo(a.Result?.BestValAcc ?? 0);
            if (byAcc != 0) return byAcc;
            var byEpochs = (a.Result?.EpochsRun ?? 0).CompareTo(b.Result?.EpochsRun ?? 0);
            if (byEpochs != 0) return byEpochs;
        }
        var byPruned = Sampling.PrunedRanking.Compare(a.Status, a.BestValAcc, a.EpochsRun, b.Status, b.BestValAcc, b.EpochsRun);
        if (byPruned != 0) return byPruned;
        var byFinish = a.FinishOrder.CompareTo(b.FinishOrder);
        return byFinish != 0 ? byFinish : a.Ordinal.CompareTo(b.Ordinal);
    }

    public static readonly IComparer<TrialState> Comparer = Comparer<TrialState>.Create(Compare);
}
