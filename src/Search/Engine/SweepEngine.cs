using System.Collections.Immutable;
using System.Globalization;
using Sweep.Search.Planning;
using Sweep.Search.Sampling;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Engine;

/// <summary>
/// The sweep's decisions as a pure function of (state, input): each method returns the events to persist, and
/// the caller (the coordinator actor) persists them, applies them to its state and only then acts (sends trials,
/// cancels runs). Nothing here touches a clock, a worker or the journal; an empty result means "nothing to do"
/// (a duplicate or late message). Stage transitions cascade inside the returned list: the last terminal trial of
/// stage k yields [..., StageCompleted(k), StageStarted(k+1, ...)] or [..., StageCompleted(k), SweepCompleted].
/// </summary>
public sealed class SweepEngine
{
    private readonly Func<SweepSpec, ISampler> _samplerFactory;

    public SweepEngine() : this(SamplerFactory.Create) { }

    public SweepEngine(Func<SweepSpec, ISampler> samplerFactory) => _samplerFactory = samplerFactory;

    /// <summary>Starts a sweep: SweepStarted then stage 1.</summary>
    public IReadOnlyList<ISweepEvent> Start(SweepSpec spec)
    {
        var events = new List<ISweepEvent> { new SweepStarted(spec, spec.Seed) };
        var state = SweepState.Empty.Apply(events[0]);
        StartStage(state, 1, events);
        return events;
    }

    /// <summary>
    /// Hands up to <paramref name="freeSlots"/> pending trials (in trial order) to <paramref name="worker"/>. When stages are
    /// proposed one free slot at a time (<see cref="SweepSpec.PlansPerSlot"/>) and fewer trials are pending than slots are
    /// free, the sampler is first asked for one config per slot left over ([TrialsPlanned, TrialDispatched...]), with every
    /// finished trial so far as evidence.
    /// </summary>
    public IReadOnlyList<ISweepEvent> Dispatch(SweepState state, string worker, int freeSlots, DateTimeOffset now)
    {
        if (freeSlots <= 0 || state.IsCompleted) return [];
        var events = new List<ISweepEvent>();
        var room = freeSlots - state.Pending.Count;
        foreach (var stage in state.StagesToPlan.ToList())
        {
            if (room <= 0) break;
            var planned = PlanForSlots(state, stage, room);
            events.Add(planned);
            state = state.Apply(planned);
            room -= planned.Trials.Length;
        }
        events.AddRange(state.Pending.Take(freeSlots).Select(p => new TrialDispatched(p.TrialId, worker, state.Trials[p.TrialId].Attempts + 1, now)));
        return events;
    }

    /// <summary>
    /// The next up to <paramref name="slots"/> trials of <paramref name="stage"/>: the sampler sees every finished or paused
    /// trial of this and earlier stages (<see cref="SweepState.EvidenceUpTo"/>), and the stage's pending and running trials
    /// as configs to steer away from.
    /// </summary>
    private TrialsPlanned PlanForSlots(SweepState state, int stage, int slots)
    {
        var planned = state.StageTrials[stage].Length;
        var count = Math.Min(slots, state.PlannedTarget(stage) - planned);
        var history = state.EvidenceUpTo(stage);
        var open = state.TrialsOfStage(stage).Where(t => t.Status is TrialStatus.Pending or TrialStatus.Running)
            .Select(t => state.ToSnapshot(t).Config).ToImmutableArray();
        return new TrialsPlanned(stage, SweepPlanner.BuildTrials(state.Spec!, stage, planned + 1, count, history, open, _samplerFactory));
    }

    /// <summary>Records a per-epoch report of a trial that <paramref name="worker"/> is running; empty when stale.</summary>
    public IReadOnlyList<ISweepEvent> ReportEpoch(SweepState state, string trialId, string worker, int epoch, double loss, double trainAcc, double valAcc)
    {
        if (state.FindTrial(trialId) is not { Status: TrialStatus.Running } trial || trial.Worker != worker) return [];
        if (trial.LastEpoch is { } last && last.Epoch >= epoch) return [];
        return [new TrialEpochReported(trialId, epoch, loss, trainAcc, valAcc)];
    }

    /// <summary>
    /// Whether the sampler wants <paramref name="trialId"/> stopped after its latest epoch (early stopping); the
    /// built-in samplers always answer Continue.
    /// </summary>
    public TrialDecision EarlyStop(SweepState state, string trialId)
    {
        if (state.Spec is null || state.FindTrial(trialId) is not { Status: TrialStatus.Running } trial) return TrialDecision.Continue;
        var peers = state.TrialsOfStage(trial.Stage).Where(t => t.TrialId != trialId && (t.LastEpoch is not null || t.Result is not null)).Select(ToProgress);
        // Handed over unevaluated: asked after every epoch report, a sampler that ignores its peers costs nothing per report,
        // where materializing the stage made each report O(stage size) (bench/Sweep.Throughput.Bench).
        return _samplerFactory(state.Spec).Tell(ToProgress(trial), peers);
    }

    // ValAccHistory is per epoch (index e-1 for epoch e): the run's epoch reports, or a finished result's history after
    // its epoch-0 check.
    private static TrialProgress ToProgress(TrialState t) => new(
        t.TrialId, t.Stage, t.Spec.Params, t.LastEpoch?.Epoch ?? t.Result?.EpochsRun ?? 0, t.Spec.Budget.Epochs,
        t.Epochs.Count > 0 ? [.. t.Epochs.Select(e => e.ValAcc)] : t.Result is { ValAccHistory.Length: > 1 } r ? [.. r.ValAccHistory.Skip(1)] : []);

    /// <summary>
    /// A worker's result. A completed run that ended at a rung of its stage's successive-halving or ASHA rule pauses the
    /// trial there (<see cref="TrialPaused"/>, then whatever promotions and prunings that makes due); results for a paused
    /// trial, or late copies of a run that already paused, are ignored. Completed and diverged results finish the trial (diverged is terminal, never retried); a
    /// failed result counts as a failure (<see cref="Fail"/>); a cancelled one re-queues it. Results for finished or
    /// never-dispatched trials are ignored (empty), which makes completion idempotent.
    /// </summary>
    public IReadOnlyList<ISweepEvent> Complete(SweepState state, string trialId, TrialResult result, DateTimeOffset? now = null)
    {
        if (state.FindTrial(trialId) is not { } trial || trial.IsTerminal || trial.Attempts == 0 || trial.Status == TrialStatus.Paused) return [];
        if (result.Status == TrialStatus.Completed && IsFromAnEarlierRung(state, trial, result)) return [];
        switch (result.Status)
        {
            case TrialStatus.Completed when PauseEpoch(state, trial, result) is { } rung:
                var paused = new List<ISweepEvent> { new TrialPaused(trialId, rung, result, now) };
                AfterOutcome(state, paused, now);
                return paused;
            case TrialStatus.Completed or TrialStatus.Diverged:
                var events = new List<ISweepEvent> { new TrialCompleted(trialId, result, now) };
                AfterOutcome(state, events, now);
                return events;
            case TrialStatus.Failed:
                return Fail(state, trialId, result.Error ?? "the trial failed without a reason", result.Worker, now);
            case TrialStatus.Cancelled:
                return trial.Status == TrialStatus.Running && (result.Worker is null || result.Worker == trial.Worker)
                    ? [new TrialRequeued(trialId, "run cancelled on " + (trial.Worker ?? "its worker"))]
                    : [];
            default:
                return [];
        }
    }

    /// <summary>
    /// A run of <paramref name="trialId"/> failed. Retried (back to pending) while failures &lt;= max_retries, then failed
    /// for good; a <paramref name="final"/> failure (a configuration error, which no retry can cure) fails it for good at
    /// once. Ignored unless the trial is running (on <paramref name="worker"/>, when given).
    /// </summary>
    public IReadOnlyList<ISweepEvent> Fail(SweepState state, string trialId, string reason, string? worker = null, DateTimeOffset? now = null, bool final = false)
    {
        if (state.FindTrial(trialId) is not { Status: TrialStatus.Running } trial) return [];
        if (worker is not null && trial.Worker != worker) return [];
        var failures = trial.Failures + 1;
        var terminal = final || failures > (state.Spec?.MaxRetries ?? 0);
        var events = new List<ISweepEvent> { new TrialFailed(trialId, reason, failures, terminal, now) };
        if (terminal) AfterOutcome(state, events, now);
        return events;
    }

    /// <summary>Puts the trials <paramref name="worker"/> was running back to the queue (not counted as failures).</summary>
    public IReadOnlyList<ISweepEvent> WorkerLost(SweepState state, string worker) =>
        state.RunningByWorker.TryGetValue(worker, out var ids)
            ? [.. ids.Select(id => state.Trials[id]).OrderBy(t => t.Ordinal).Select(t => new TrialRequeued(t.TrialId, $"worker {worker} lost"))]
            : [];

    /// <summary>
    /// Running trials dispatched longer than the spec's trial_timeout ago are failed for good (the caller cancels
    /// them on their workers); a late result for them is then ignored.
    /// </summary>
    public IReadOnlyList<ISweepEvent> TimedOut(SweepState state, DateTimeOffset now)
    {
        if (state.Spec is null) return [];
        var timeout = state.Spec.TrialTimeout;
        var events = new List<ISweepEvent>();
        foreach (var trial in state.RunningTrials.Where(t => t.DispatchedAt is { } at && now - at > timeout).ToList())
        {
            events.Add(new TrialFailed(trial.TrialId,
                $"timed out after {timeout.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s on {trial.Worker}", trial.Failures + 1, Terminal: true, now));
        }
        if (events.Count > 0) AfterOutcome(state, events, now);
        return events;
    }

    /// <summary>
    /// After recovery from the journal: every trial that was running goes back to pending (its worker may be gone;
    /// if it is not, its result is still accepted once, since completion is idempotent); paused trials stay paused. Also
    /// finishes a stage transition or rung decision that was cut off (e.g. StageCompleted persisted but the next
    /// StageStarted not).
    /// </summary>
    public IReadOnlyList<ISweepEvent> Recover(SweepState state)
    {
        var events = new List<ISweepEvent>(RequeueInFlight(state, "coordinator restarted"));
        if (state.IsStarted && !state.IsCompleted)
        {
            // Also finishes rung decisions that were cut off: they are a function of the state.
            if (state.CurrentStage == 0) StartStage(state, 1, events);
            else AfterOutcome(state, events, null);
        }
        return events;
    }

    /// <summary>
    /// Why a checkpoint of <paramref name="trialId"/> after <paramref name="epoch"/> from <paramref name="worker"/> is not
    /// wanted, or null when it is: the trial must be the worker's current run (or its finished run, whose final
    /// checkpoint holds the best weights, unless the spec keeps none), the epoch within its budget and not older than the
    /// one already stored, and checkpoints on.
    /// </summary>
    public static string? CheckpointRefusal(SweepState state, string trialId, string worker, int epoch)
    {
        if (state.Spec is not { } spec || !spec.CheckpointPolicy.Enabled) return "the sweep keeps no checkpoints";
        if (state.FindTrial(trialId) is not { } trial) return "no such trial";
        if (trial.Worker != worker) return $"the trial is not {worker}'s";
        if (trial.Status is TrialStatus.Pending or TrialStatus.Failed or TrialStatus.Cancelled) return $"the trial is {trial.Status.ToWireName()}";
        if (trial.IsTerminal && spec.CheckpointPolicy.Keep == CheckpointKeep.None) return "the sweep keeps no checkpoints of finished trials (keep = none)";
        if (epoch < 1 || epoch > trial.Spec.Budget.Epochs) return $"epoch {epoch} is outside 1..{trial.Spec.Budget.Epochs}";
        if (trial.Checkpoint is { } held && held.Epoch >= epoch) return $"epoch {held.Epoch} is already stored";
        return null;
    }

    /// <summary>The store now holds <paramref name="trialId"/>'s checkpoint after <paramref name="epoch"/>; empty when it is not wanted.</summary>
    public IReadOnlyList<ISweepEvent> Checkpointed(SweepState state, string trialId, string worker, int epoch, string sha256, long bytes) =>
        CheckpointRefusal(state, trialId, worker, epoch) is null ? [new TrialCheckpointed(trialId, epoch, sha256, bytes)] : [];

    /// <summary>
    /// Whose stored checkpoint a new run of <paramref name="trialId"/> may continue from, best first: the trial's own
    /// (a re-queued run), then that of the previous-stage trial whose config it carries over (see
    /// <see cref="CarryOverSource"/>). Empty when the sweep keeps no checkpoints. The caller takes the first one the store
    /// holds.
    /// </summary>
    public static IReadOnlyList<string> ResumeCandidates(SweepState state, string trialId)
    {
        if (state.Spec is not { } spec || !spec.CheckpointPolicy.Enabled || state.FindTrial(trialId) is null) return [];
        var candidates = new List<string> { trialId };
        // keep = none deletes a finished trial's checkpoint, so a carried config has nothing to continue from.
        if (spec.CheckpointPolicy is { ContinueCarryOver: true, Keep: CheckpointKeep.Latest } && CarryOverSource(state, trialId) is { } source) candidates.Add(source);
        return candidates;
    }

    /// <summary>
    /// The previous-stage trial a carried-over trial continues: the trial is among its stage's first carry_over (the
    /// sampler puts carried configs first), the two stages train on the same num_train and this one for more epochs,
    /// and a completed trial of the previous stage has the same searched parameters (the best of them, in leaderboard
    /// order, if several do). Null otherwise.
    /// </summary>
    public static string? CarryOverSource(SweepState state, string trialId)
    {
        if (state.Spec is not { } spec || state.FindTrial(trialId) is not { Stage: > 1 } trial) return null;
        var stage = spec.Stages[trial.Stage - 1];
        var previous = spec.Stages[trial.Stage - 2];
        if (trial.Index > stage.CarryOver || stage.NumTrain != previous.NumTrain || stage.Epochs <= previous.Epochs) return null;
        var searched = state.ToSnapshot(trial).Config;
        return state.TrialsOfStage(trial.Stage - 1)
            .Where(t => t.Status == TrialStatus.Completed && state.ToSnapshot(t).Config.Equals(searched))
            .Order(LeaderboardOrder.Comparer)
            .FirstOrDefault()?.TrialId;
    }

    /// <summary>
    /// The run of <paramref name="trialId"/> just dispatched to <paramref name="worker"/> continues from
    /// <paramref name="fromTrialId"/>'s checkpoint after <paramref name="epoch"/>; empty when that run is no longer current.
    /// </summary>
    public IReadOnlyList<ISweepEvent> Resume(SweepState state, string trialId, string worker, string fromTrialId, int epoch)
    {
        if (state.FindTrial(trialId) is not { Status: TrialStatus.Running } trial || trial.Worker != worker || trial.LastEpoch is not null) return [];
        if (epoch < 1 || epoch > trial.Spec.Budget.Epochs) return [];
        return [new TrialResumed(trialId, fromTrialId, epoch)];
    }

    /// <summary>
    /// <paramref name="worker"/>, running <paramref name="trialId"/>, could not use the checkpoint its run was to resume
    /// from and trained from epoch 0 instead; empty unless that run is the worker's current one and did resume from
    /// <paramref name="fromTrialId"/> after <paramref name="epoch"/>.
    /// </summary>
    public IReadOnlyList<ISweepEvent> AbandonResume(SweepState state, string trialId, string worker, string fromTrialId, int epoch, string reason) =>
        state.FindTrial(trialId) is { Status: TrialStatus.Running } trial && trial.Worker == worker && trial.ResumedFrom == new ResumePoint(fromTrialId, epoch)
            ? [new TrialResumeAbandoned(trialId, fromTrialId, epoch, reason)]
            : [];

    /// <summary>The stored checkpoint of <paramref name="fromTrialId"/> is missing or corrupt: the run of <paramref name="trialId"/> starts from epoch 0.</summary>
    public IReadOnlyList<ISweepEvent> DiscardCheckpoint(SweepState state, string trialId, string fromTrialId, int epoch, string reason) =>
        state.FindTrial(trialId) is null || state.FindTrial(fromTrialId) is null ? [] : [new CheckpointDiscarded(trialId, fromTrialId, epoch, reason)];

    internal static IEnumerable<ISweepEvent> RequeueInFlight(SweepState state, string reason) =>
        state.RunningTrials.Select(t => new TrialRequeued(t.TrialId, reason));

    /// <summary>
    /// Appends what became due after <paramref name="events"/> (a trial's outcome): rung promotions and prunings, then
    /// stage and sweep transitions.
    /// </summary>
    private void AfterOutcome(SweepState state, List<ISweepEvent> events, DateTimeOffset? now)
    {
        foreach (var e in events) state = state.Apply(e);
        state = DecideRungs(state, events, now);
        if (IsEager(state))
        {
            AfterOutcomeEager(state, events);
            return;
        }
        while (!state.IsCompleted && state.CurrentStage > 0 && state.IsStageFinished(state.CurrentStage))
        {
            var stage = state.CurrentStage;
            if (state.LastCompletedStage < stage)
            {
                var completed = new StageCompleted(stage);
                events.Add(completed);
                state = state.Apply(completed);
            }
            if (stage >= state.StageCount)
            {
                var done = new SweepCompleted();
                events.Add(done);
                state = state.Apply(done);
            }
            else
            {
                state = StartStage(state, stage + 1, events);
            }
        }
    }

    // A stage proposed one free slot at a time starts empty: Dispatch plans its trials.
    private SweepState StartStage(SweepState state, int stage, List<ISweepEvent> events)
    {
        var started = new StageStarted(stage, state.Spec!.PlansPerSlot ? [] : SweepPlanner.BuildStageTrials(state.Spec!, stage, state.HistoryBefore(stage), _samplerFactory));
        events.Add(started);
        return state.Apply(started);
    }

    /// <summary>
    /// Prunes <paramref name="trialId"/> when the sampler's early-stopping hook (<see cref="EarlyStop"/>, which carries the
    /// spec's pruning rule) says so after its latest epoch: [TrialPruned, then any stage/sweep transition it completes].
    /// Empty when the trial goes on. The caller persists the events, then cancels the run on its worker.
    /// </summary>
    public IReadOnlyList<ISweepEvent> Prune(SweepState state, string trialId, DateTimeOffset? now = null)
    {
        if (EarlyStop(state, trialId) != TrialDecision.Stop) return [];
        var trial = state.GetTrial(trialId);
        var progress = ToProgress(trial);
        var peers = state.TrialsOfStage(trial.Stage).Where(t => t.TrialId != trialId).Select(ToProgress);
        var reason = MedianPruning.Judge(state.Spec!.PruningOf(trial.Stage), progress, peers) is { Prune: true } verdict
            ? verdict.Describe()
            : $"stopped by the {_samplerFactory(state.Spec).Kind} sampler after epoch {progress.Epoch}";
        var events = new List<ISweepEvent> { new TrialPruned(trialId, progress.Epoch, reason, now) };
        AfterOutcome(state, events, now);
        return events;
    }

    /// <summary>
    /// The rung epoch a completed run of <paramref name="trial"/> paused at, or null when the run finished the trial: its
    /// stage's rule uses rungs, the run trained fewer epochs than the budget, and it stopped at the next rung the trial
    /// had not got to, or at a later one (a run that resumed beyond it).
    /// </summary>
    private static int? PauseEpoch(SweepState state, TrialState trial, TrialResult result)
    {
        var rungs = state.Spec?.RungEpochsOf(trial.Stage) ?? [];
        var epochs = result.EpochsRun;
        return epochs < trial.Spec.Budget.Epochs && rungs.IndexOf(epochs) is var rung && rung >= 0 && rung >= trial.Rungs.Count ? epochs : null;
    }

    /// <summary>A late copy of the result of a run that already paused at a rung: it trained no further than that rung.</summary>
    private static bool IsFromAnEarlierRung(SweepState state, TrialState trial, TrialResult result) =>
        trial.Rungs.Count > 0 && state.Spec?.RungEpochsOf(trial.Stage) is { Length: > 0 } rungs && trial.Rungs.Count <= rungs.Length &&
        result.EpochsRun <= rungs[trial.Rungs.Count - 1];

    /// <summary>
    /// What the next run of <paramref name="trialId"/> trains, for the worker: its spec, with the budget cut to the rung
    /// where the run is to pause (successive halving, ASHA). That is the first rung the trial has not got to, at or after
    /// <paramref name="resumeEpoch"/>, the epoch its run resumes from: a run that resumes exactly at that rung (its
    /// checkpoint was stored, the pause not yet journaled) trains no epoch and pauses at once, and a carried-over config
    /// resuming beyond a rung enters at the next one. Past the last rung, the spec as it is.
    /// </summary>
    public static TrialSpec RunSpec(SweepState state, string trialId, int resumeEpoch = 0)
    {
        var trial = state.GetTrial(trialId);
        var rungs = state.Spec?.RungEpochsOf(trial.Stage) ?? [];
        var stop = rungs.Skip(trial.Rungs.Count).Where(r => r >= resumeEpoch).DefaultIfEmpty(trial.Spec.Budget.Epochs).First();
        return stop >= trial.Spec.Budget.Epochs ? trial.Spec : trial.Spec with { Budget = trial.Spec.Budget with { Epochs = stop } };
    }

    /// <summary>
    /// Appends the promotions and prunings the stages' successive-halving or ASHA rules make due (<see cref="RungPruning"/>)
    /// and returns the state with them applied. A pruned trial's event carries its rung epoch.
    /// </summary>
    private static SweepState DecideRungs(SweepState state, List<ISweepEvent> events, DateTimeOffset? now)
    {
        if (state.Spec is not { } spec) return state;
        for (var stage = Math.Max(1, state.LastCompletedStage + 1); stage <= state.CurrentStage; stage++)
        {
            var rule = spec.PruningOf(stage);
            if (!rule.UsesRungs) continue;
            var rungs = spec.RungEpochsOf(stage);
            var entries = state.TrialsOfStage(stage).Select(t => new RungPruning.Entry(t.TrialId, t.Index, t.Status, [.. t.Rungs]));
            foreach (var decision in RungPruning.Decide(rule, rungs, entries))
            {
                ISweepEvent e = decision.Promote
                    ? new TrialPromoted(decision.TrialId, decision.Rung, decision.Reason)
                    : new TrialPruned(decision.TrialId, rungs[decision.Rung], decision.Reason, now);
                events.Add(e);
                state = state.Apply(e);
            }
        }
        return state;
    }

    private static bool IsEager(SweepState state) => state.Spec?.StageStart is { Mode: StageStartMode.Eager };

    /// <summary>
    /// Stage transitions with <c>stage_start = eager</c>: stage k+1 is planned (StagePlanned, then StageStarted) as soon as
    /// a quorum of stage k is finished, from the finished trials at that moment; stages complete in order once every trial
    /// of theirs is terminal (stragglers included), and the sweep completes with its last stage.
    /// </summary>
    private void AfterOutcomeEager(SweepState state, List<ISweepEvent> events)
    {
        while (!state.IsCompleted && state.CurrentStage > 0)
        {
            var next = state.LastCompletedStage + 1;
            if (next <= state.CurrentStage && state.IsStageFinished(next))
            {
                var completed = new StageCompleted(next);
                events.Add(completed);
                state = state.Apply(completed);
            }
            else if (state.LastCompletedStage >= state.StageCount)
            {
                var done = new SweepCompleted();
                events.Add(done);
                state = state.Apply(done);
            }
            else if (state.CurrentStage < state.StageCount && QuorumFinished(state, state.CurrentStage))
            {
                var stage = state.CurrentStage + 1;
                var planned = new StagePlanned(stage, [.. state.HistoryBefore(stage).Select(t => t.TrialId)]);
                events.Add(planned);
                state = StartStage(state.Apply(planned), stage, events);
            }
            else
            {
                break;
            }
        }
    }

    private static bool QuorumFinished(SweepState state, int stage) =>
        state.IsStageFinished(stage) ||
        (state.StageTrials.TryGetValue(stage, out var ids) && ids.Count(id => state.Trials[id].IsTerminal) >= state.Spec!.QuorumOf(state.PlannedTarget(stage)));
}
