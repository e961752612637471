using Sweep.Search.Engine;
using Sweep.Search.Planning;
using Sweep.Search.Reporting;
using Sweep.Search.Sampling;
using Sweep.Search.Serialization;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Engine;

/// <summary>The engine's pruning decisions and eager stage starts, as pure (state, input) -> events.</summary>
public class AdaptiveEngineTests
{
    private readonly SweepEngine _engine = new();
    private static readonly DateTimeOffset T0 = TestSpecs.T0;

    private static SweepSpec MedianSpec(PruningSpec? rule = null) => TestSpecs.Spec(stage1: 5, stage2: 2) with
    {
        Stages = [new StageSpec(5, 3, 1000), new StageSpec(2, 3, 1000, TopK: 3, CarryOver: 1)],
        Pruning = rule ?? new PruningSpec(PruningRule.Median, MinEpochs: 1, MinPeers: 2),
    };

    private static SweepSpec EagerSpec(int stage1 = 4, int stage2 = 2, int stage3 = 0, double quorum = 0.75) =>
        TestSpecs.Spec(stage1: stage1, stage2: stage2, stage3: stage3) with { StageStart = new StageStartSpec(StageStartMode.Eager, quorum) };

    private SweepState Report(SweepState state, string trialId, int epoch, double valAcc) =>
        state.ApplyAll(_engine.ReportEpoch(state, trialId, "w1", epoch, 1.0, valAcc + 0.05, valAcc));

    private SweepState Finish(SweepState state, string trialId, List<ISweepEvent>? journal = null, DateTimeOffset? at = null, double? seconds = null)
    {
        var result = TestSpecs.FakeResult(state.GetTrial(trialId).Spec, state.GetTrial(trialId).Worker!);
        var events = _engine.Complete(state, trialId, seconds is { } trained ? result with { Seconds = trained } : result, at);
        journal?.AddRange(events);
        return state.ApplyAll(events);
    }

    private (SweepState State, List<ISweepEvent> Journal) Start(SweepSpec spec, int slots)
    {
        var journal = new List<ISweepEvent>(_engine.Start(spec));
        var state = SweepState.Replay(journal);
        var dispatched = _engine.Dispatch(state, "w1", slots, T0);
        journal.AddRange(dispatched);
        return (state.ApplyAll(dispatched), journal);
    }

    [Fact]
    public void A_trial_below_the_median_after_an_epoch_is_pruned_keeping_its_best_val_and_epochs()
    {
        var (state, _) = Start(MedianSpec(), slots: 5);
        // Best so far after epoch 1: 0.50, 0.40, 0.45; after epoch 2: 0.55, 0.42, 0.50. None is below its peers' median.
        foreach (var (id, epoch, acc) in new[] { ("s1-t0001", 1, 0.50), ("s1-t0002", 1, 0.40), ("s1-t0003", 1, 0.45), ("s1-t0001", 2, 0.55), ("s1-t0002", 2, 0.42), ("s1-t0003", 2, 0.50) })
        {
            state = Report(state, id, epoch, acc);
            Assert.Empty(_engine.Prune(state, id, T0));
        }
        state = Report(state, "s1-t0004", 1, 0.46);
        Assert.Empty(_engine.Prune(state, "s1-t0004", T0));
        state = Report(state, "s1-t0004", 2, 0.44);
        var events = _engine.Prune(state, "s1-t0004", T0.AddSeconds(9));
        var pruned = Assert.IsType<TrialPruned>(Assert.Single(events));
        Assert.Equal(new TrialPruned("s1-t0004", 2, "best val 0.4600 after epoch 2 is below the median 0.5000 of 3 stage peer(s)", T0.AddSeconds(9)), pruned);
        state = state.ApplyAll(events);

        var trial = state.GetTrial("s1-t0004");
        Assert.Equal(TrialStatus.Pruned, trial.Status);
        Assert.True(trial.IsTerminal);
        Assert.Equal((0.46, 1, 2), (trial.BestValAcc, trial.BestEpoch, trial.EpochsRun));
        Assert.Equal(1, state.Counts.Pruned);
        Assert.Equal(4, state.Counts.Running);
        Assert.Contains("1 pruned", state.Counts.ToString());
        // The cancelled run's result, a failure or a second decision change nothing.
        Assert.Empty(_engine.Complete(state, "s1-t0004", TestSpecs.FakeResult(trial.Spec, "w1")));
        Assert.Empty(_engine.Fail(state, "s1-t0004", "cancelled", "w1"));
        Assert.Empty(_engine.Prune(state, "s1-t0004"));
    }

    [Fact]
    public void Pruning_the_last_open_trial_completes_the_stage_and_the_next_narrows_around_completed_trials_only()
    {
        var (state, journal) = Start(MedianSpec(), slots: 5);
        foreach (var id in new[] { "s1-t0001", "s1-t0002", "s1-t0003", "s1-t0005" })
            state = Finish(state, id, journal);
        state = Report(state, "s1-t0004", 1, 0.01);
        var events = _engine.Prune(state, "s1-t0004", T0);
        Assert.Equal([typeof(TrialPruned), typeof(StageCompleted), typeof(StageStarted)], events.Select(e => e.GetType()));
        journal.AddRange(_engine.ReportEpoch(SweepState.Replay(journal), "s1-t0004", "w1", 1, 1.0, 0.06, 0.01));
        journal.AddRange(events);
        state = SweepState.Replay(journal);

        Assert.Equal(2, state.CurrentStage);
        var completedBest = state.TrialsOfStage(1).Where(t => t.Status == TrialStatus.Completed).Order(LeaderboardOrder.Comparer).First();
        Assert.Equal(completedBest.Spec.Params.Only(state.Spec!.Space.SearchedNames), state.GetTrial("s2-t0001").Spec.Params.Only(state.Spec.Space.SearchedNames));
        var board = Leaderboard.From(state);
        var row = board.Rows.Single(r => r.TrialId == "s1-t0004");
        Assert.Equal((TrialStatus.Pruned, 0.01, 1, 1), (row.Status, row.BestValAcc, row.BestEpoch, row.EpochsRun));
        Assert.Equal(0.06, row.FinalTrainAcc);
        Assert.All(board.Rows.Where(r => r.Status == TrialStatus.Completed), r => Assert.True(r.Rank < row.Rank));
        Assert.All(board.Rows.Where(r => r.Status == TrialStatus.Diverged), r => Assert.True(r.Rank > row.Rank));
        Assert.Contains(",pruned,", board.ToCsv());
        Assert.Contains("\"status\": \"pruned\"", board.ToJson());
        Assert.Contains(" pruned ", board.ToTable());
    }

    [Fact]
    public void Without_a_pruning_rule_nothing_is_pruned()
    {
        var (state, _) = Start(MedianSpec(PruningSpec.None), slots: 5);
        foreach (var (id, acc) in new[] { ("s1-t0001", 0.5), ("s1-t0002", 0.4), ("s1-t0003", 0.45), ("s1-t0004", 0.01) })
            state = Report(state, id, 1, acc);
        Assert.Empty(_engine.Prune(state, "s1-t0004", T0));
    }

    [Fact]
    public void Eager_start_plans_the_next_stage_from_the_quorum_and_stragglers_still_finish_their_stage()
    {
        var spec = EagerSpec();
        var (state, journal) = Start(spec, slots: 4);
        state = Finish(state, "s1-t0002", journal);
        state = Finish(state, "s1-t0001", journal);
        Assert.Equal(1, state.CurrentStage);

        var events = _engine.Complete(state, "s1-t0004", TestSpecs.FakeResult(state.GetTrial("s1-t0004").Spec, "w1"));
        Assert.Equal([typeof(TrialCompleted), typeof(StagePlanned), typeof(StageStarted)], events.Select(e => e.GetType()));
        Assert.Equal(["s1-t0001", "s1-t0002", "s1-t0004"], ((StagePlanned)events[1]).BasedOn.ToArray());
        var planned = ((StageStarted)events[2]).Trials;
        journal.AddRange(events);
        state = state.ApplyAll(events);
        Assert.Equal(planned.ToArray(), SweepPlanner.BuildStageTrials(spec, 2, [.. state.HistoryBefore(2).Where(t => t.TrialId != "s1-t0003")]).ToArray());
        Assert.Equal(2, state.CurrentStage);
        Assert.Equal(0, state.LastCompletedStage);

        // The straggler keeps running in its stage while the new stage's trials run and finish.
        Assert.Equal(["s1-t0003"], state.RunningTrials.Select(t => t.TrialId));
        foreach (var id in new[] { "s2-t0001", "s2-t0002", "s2-t0003" })
        {
            state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, T0));
            state = Finish(state, id, journal);
        }
        Assert.False(state.IsCompleted);
        Assert.Equal(0, state.LastCompletedStage);
        var last = _engine.Complete(state, "s1-t0003", TestSpecs.FakeResult(state.GetTrial("s1-t0003").Spec, "w1"));
        Assert.Equal([typeof(TrialCompleted), typeof(StageCompleted), typeof(StageCompleted), typeof(SweepCompleted)], last.Select(e => e.GetType()));
        state = state.ApplyAll(last);
        Assert.True(state.IsCompleted);
        Assert.Contains(Leaderboard.From(state).Rows, r => r is { TrialId: "s1-t0003", Stage: 1 } && r.Status.IsTerminal());
    }

    [Fact]
    public void A_resume_cut_off_before_the_eager_plan_was_stored_plans_from_the_same_trials()
    {
        var (state, journal) = Start(EagerSpec(), slots: 4);
        foreach (var id in new[] { "s1-t0003", "s1-t0001", "s1-t0002" })
            state = Finish(state, id, journal);
        var plannedAt = journal.FindIndex(e => e is StagePlanned);
        var uncut = journal.ToList();
        journal.RemoveRange(plannedAt, journal.Count - plannedAt);

        var recovered = _engine.Recover(SweepState.Replay(journal));
        Assert.Equal(uncut.OfType<StagePlanned>().Single(), recovered.OfType<StagePlanned>().Single());
        Assert.Equal(uncut.OfType<StageStarted>().Last(), recovered.OfType<StageStarted>().Single());
        // With the plan stored, recovery plans nothing again.
        Assert.Empty(_engine.Recover(SweepState.Replay(uncut)).OfType<StageStarted>());
    }

    [Fact]
    public void A_snapshot_keeps_pruned_trials_and_an_eager_stage_with_its_straggler()
    {
        var spec = EagerSpec() with
        {
            Stages = [new StageSpec(4, 3, 1000), new StageSpec(2, 3, 1000, TopK: 3, CarryOver: 1)],
            Pruning = new PruningSpec(PruningRule.Median, MinEpochs: 1, MinPeers: 1),
        };
        var (state, _) = Start(spec, slots: 4);
        state = Report(state, "s1-t0001", 1, 0.5);
        state = Report(state, "s1-t0002", 1, 0.2);
        state = state.ApplyAll(_engine.Prune(state, "s1-t0002", T0));
        state = Finish(state, "s1-t0001");
        state = Finish(state, "s1-t0003");
        // The pruned trial counts toward the quorum (3 of 4 finished): stage 2 runs beside the straggler s1-t0004.
        Assert.Equal((2, 1), (state.CurrentStage, state.Counts.Pruned));

        var restored = SweepJson.Deserialize<SweepState>(SweepJson.Serialize(state));
        Assert.Equal(state.Counts, restored.Counts);
        Assert.Equal(state.Trials.Values.OrderBy(t => t.Ordinal), restored.Trials.Values.OrderBy(t => t.Ordinal));
        Assert.Equal(0.2, restored.GetTrial("s1-t0002").BestValAcc);
        var straggler = TestSpecs.FakeResult(state.GetTrial("s1-t0004").Spec, "w1");
        Assert.Equal(_engine.Complete(state, "s1-t0004", straggler, T0), _engine.Complete(restored, "s1-t0004", straggler, T0));
        Assert.Equal(Leaderboard.From(state).ToCsv(), Leaderboard.From(restored).ToCsv());
    }

    [Fact]
    public void An_eager_sweep_ends_with_every_trial_terminal_and_stages_completed_in_order()
    {
        var simulator = new SweepSimulator(EagerSpec(stage1: 8, stage2: 4, stage3: 3, quorum: 0.5), workers: 2, slotsPerWorker: 2, orderSeed: 5);
        var state = simulator.Run();
        Assert.True(state.IsCompleted);
        Assert.All(state.Trials.Values, t => Assert.True(t.IsTerminal, t.TrialId));
        Assert.Equal([1, 2, 3], simulator.Journal.OfType<StageCompleted>().Select(e => e.Stage));
        Assert.Equal([2, 3], simulator.Journal.OfType<StagePlanned>().Select(e => e.Stage));
        Assert.Equal(4, simulator.Journal.OfType<StagePlanned>().First().BasedOn.Length);
        Assert.DoesNotContain(new SweepSimulator(TestSpecs.Spec(stage1: 8, stage2: 4), 2, 2, 5).Run().Trials.Values, t => !t.IsTerminal);
    }

    [Fact]
    public void A_barrier_sweep_journals_no_plan_basis()
    {
        var simulator = new SweepSimulator(TestSpecs.Spec(stage1: 6, stage2: 3, stage3: 2), 2, 1, 3);
        simulator.Run();
        Assert.Empty(simulator.Journal.OfType<StagePlanned>());
    }

    [Theory]
    [InlineData(10, 0.75, 8)]
    [InlineData(10, 1.0, 10)]
    [InlineData(3, 0.5, 2)]
    [InlineData(4, 0.01, 1)]
    public void The_quorum_rounds_up_and_a_barrier_waits_for_all(int trials, double quorum, int expected)
    {
        Assert.Equal(expected, EagerSpec(quorum: quorum).QuorumOf(trials));
        Assert.Equal(trials, TestSpecs.Spec().QuorumOf(trials));
    }

    [Fact]
    public void Slot_utilization_is_busy_slot_seconds_over_slots_times_wall_time()
    {
        var (state, _) = Start(TestSpecs.Spec(stage1: 3, stage2: 1), slots: 0);
        Assert.Equal(0, SlotUtilization.Of(state, T0).Ratio);
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, T0));
        state = state.ApplyAll(_engine.Dispatch(state, "w2", 1, T0));
        state = Finish(state, "s1-t0001", at: T0.AddSeconds(10), seconds: 10);
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, T0.AddSeconds(15)));
        state = Finish(state, "s1-t0003", at: T0.AddSeconds(25), seconds: 10);
        state = Finish(state, "s1-t0002", at: T0.AddSeconds(25), seconds: 25);
        var utilization = SlotUtilization.Of(state, T0.AddSeconds(99));
        Assert.Equal(new SlotUtilization(45, 2, 25), utilization);
        Assert.Equal(0.9, utilization.Ratio, 10);
        Assert.Equal("slot utilization 90.0% (45 busy slot-seconds over 2 slot(s) x 25 s)", utilization.Describe());
    }

    [Fact]
    public void A_trial_reported_after_its_slot_took_the_next_one_counts_until_its_training_ended()
    {
        // One single-slot worker: s1-t0001 trains 10 s but is reported at 14 s (its last checkpoint was uploading), and
        // the freed slot took s1-t0002 at 11 s. That is one slot kept busy, not two slots running side by side.
        var (state, _) = Start(TestSpecs.Spec(stage1: 2, stage2: 1), slots: 0);
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, T0));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, T0.AddSeconds(11)));
        state = Finish(state, "s1-t0001", at: T0.AddSeconds(14), seconds: 10);
        state = Finish(state, "s1-t0002", at: T0.AddSeconds(21), seconds: 10);
        Assert.Equal(new SlotUtilization(20, 1, 21), SlotUtilization.Of(state, T0.AddSeconds(99)));
        Assert.Equal([1, 1], Leaderboard.From(state).Rows.OrderBy(r => r.TrialId).Select(r => r.Slot));
    }

    private static SweepSpec EagerTpeSpec(int stage1 = 12, int stage2 = 6) =>
        (TestSpecs.Spec(stage1: stage1, stage2: stage2, sampler: SamplerKind.Tpe) with
        {
            Tpe = new TpeSettings(NStartupTrials: 4),
            StageStart = new StageStartSpec(StageStartMode.Eager, 0.75),
        });

    [Fact]
    public void Eager_tpe_asks_once_per_free_slot_with_every_result_in_so_far()
    {
        var spec = EagerTpeSpec();
        var engine = new SweepEngine();
        var journal = new List<ISweepEvent>(engine.Start(spec));
        var state = SweepState.Replay(journal);
        // The stage starts empty: nothing is proposed before a slot asks.
        Assert.Empty(state.TrialsOfStage(1));
        Assert.False(state.IsStageFinished(1));
        var first = engine.Dispatch(state, "w1", 2, T0);
        Assert.Equal([typeof(TrialsPlanned), typeof(TrialDispatched), typeof(TrialDispatched)], first.Select(e => e.GetType()));
        Assert.Equal(["s1-t0001", "s1-t0002"], ((TrialsPlanned)first[0]).Trials.Select(t => t.TrialId));
        state = state.ApplyAll(first);
        Assert.Empty(engine.Dispatch(state, "w1", 0, T0));

        var simulator = new SweepSimulator(spec, workers: 2, slotsPerWorker: 1, orderSeed: 3);
        var done = simulator.Run();
        Assert.True(done.IsCompleted);
        Assert.Equal(Enumerable.Range(1, 12).Select(i => TrialSpec.MakeId(1, i)), done.StageTrials[1]);
        Assert.Equal(6, done.StageTrials[2].Length);
        var asks = simulator.Journal.OfType<TrialsPlanned>().ToList();
        // After the first asks (one per idle slot), every freed slot asked for exactly one config.
        Assert.All(asks, a => Assert.InRange(a.Trials.Length, 1, 2));
        Assert.True(asks.Count(a => a.Trials.Length == 1) >= 14, $"{asks.Count(a => a.Trials.Length == 1)} single asks");
        Assert.Equal(18, asks.Sum(a => a.Trials.Length));
        // A stage-1 ask made after more results differs from what a whole-stage ask would have given.
        var batch = SweepPlanner.BuildStageTrials(spec, 1, []);
        Assert.NotEqual(batch.Skip(8).Select(t => t.Params.Key), done.TrialsOfStage(1).Skip(8).Select(t => t.Spec.Params.Key));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(25)]
    [InlineData(40)]
    public void Eager_tpe_resumed_after_a_crash_plans_every_trial_once_and_finishes(int crashAfterEvents)
    {
        var simulator = new SweepSimulator(EagerTpeSpec(), workers: 2, slotsPerWorker: 2, orderSeed: 7, crashAfterEvents);
        var state = simulator.Run();
        Assert.True(state.IsCompleted);
        var planned = simulator.Journal.OfType<TrialsPlanned>().SelectMany(a => a.Trials.Select(t => t.TrialId)).ToList();
        Assert.Equal(planned.Count, planned.Distinct().Count());
        Assert.Equal(18, planned.Count);
        Assert.All(state.Trials.Values, t => Assert.True(t.IsTerminal));
    }

    /// <summary>A sampler that records every request it is asked, then answers as the one it wraps.</summary>
    private sealed class RecordingSampler(ISampler inner) : ISampler
    {
        public List<StageRequest> Requests { get; } = [];

        public string Kind => inner.Kind;

        public System.Collections.Immutable.ImmutableArray<Sweep.Search.Spaces.TrialConfig> Ask(StageRequest request)
        {
            Requests.Add(request);
            return inner.Ask(request);
        }

        public TrialDecision Tell(TrialProgress progress, IEnumerable<TrialProgress> stagePeers) => inner.Tell(progress, stagePeers);
    }

    [Fact]
    public void Eager_tpe_with_asha_learns_from_trials_paused_at_a_rung_and_steers_only_away_from_open_ones()
    {
        var spec = EagerTpeSpec(stage1: 18, stage2: 0) with
        {
            Stages = [new StageSpec(18, 9, 1000)],
            Pruning = new PruningSpec(PruningRule.Asha, MinEpochs: 1, ReductionFactor: 3),
        };
        RecordingSampler? recorder = null;
        var engine = new SweepEngine(s => recorder ??= new RecordingSampler(SamplerFactory.Create(s)));
        var journal = new List<ISweepEvent>(engine.Start(spec));
        var state = SweepState.Replay(journal);
        for (var step = 0; step < 10_000 && !state.IsCompleted; step++)
        {
            var dispatched = engine.Dispatch(state, "w1", 2 - state.RunningTrials.Count(), T0);
            state = state.ApplyAll(dispatched);
            var trial = state.RunningTrials.First();
            state = state.ApplyAll(engine.Complete(state, trial.TrialId, SuccessiveHalvingEngineTests.Curve(SweepEngine.RunSpec(state, trial.TrialId), "w1")));
        }
        Assert.True(state.IsCompleted);
        Assert.Equal(18, state.TrialsOfStage(1).Count());
        var requests = recorder!.Requests;
        Assert.Contains(requests, r => r.History.Any(t => t.Status == TrialStatus.Paused));
        // Every trial planned before an ask is in it once: as evidence (finished or paused) or as an open trial to avoid.
        Assert.All(requests, r => Assert.Equal(r.FirstIndex - 1, r.History.Length + r.Open.Length));
    }
}
