using Sweep.Search.Engine;
using Sweep.Search.Planning;
using Sweep.Search.Sampling;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Engine;

public class SweepEngineTests
{
    private readonly SweepEngine _engine = new();
    private static readonly DateTimeOffset T0 = TestSpecs.T0;

    private (SweepSpec Spec, SweepState State) Started(SweepSpec? spec = null)
    {
        spec ??= TestSpecs.Spec();
        return (spec, SweepState.Empty.ApplyAll(_engine.Start(spec)));
    }

    private SweepState Dispatch(SweepState state, string worker, int slots, DateTimeOffset? at = null) =>
        state.ApplyAll(_engine.Dispatch(state, worker, slots, at ?? T0));

    private SweepState Finish(SweepState state, string trialId) =>
        state.ApplyAll(_engine.Complete(state, trialId, TestSpecs.FakeResult(state.GetTrial(trialId).Spec, state.GetTrial(trialId).Worker!)));

    [Fact]
    public void Start_emits_sweep_started_then_stage_one_with_pending_trials()
    {
        var spec = TestSpecs.Spec(stage1: 5);
        var events = _engine.Start(spec);
        Assert.IsType<SweepStarted>(events[0]);
        var stage = Assert.IsType<StageStarted>(events[1]);
        Assert.Equal(1, stage.Stage);
        Assert.Equal(5, stage.Trials.Length);
        Assert.Equal(["s1-t0001", "s1-t0002", "s1-t0003", "s1-t0004", "s1-t0005"], stage.Trials.Select(t => t.TrialId));
        var trial = stage.Trials[0];
        Assert.Equal("fc", trial.Params.GetString("model"));
        Assert.Equal(1, trial.Params.GetInt("epochs"));
        Assert.Equal(1000, trial.Params.GetInt("num_train"));
        Assert.Equal(0.95, trial.Params.GetDouble("lr_decay"));
        Assert.True(spec.Space.Contains(trial.Params));
        Assert.Equal(5, stage.Trials.Select(t => t.Seed).Distinct().Count());
        var state = SweepState.Empty.ApplyAll(events);
        Assert.Equal(5, state.Counts.Pending);
        Assert.Equal(1, state.CurrentStage);
    }

    [Fact]
    public void Dispatch_hands_out_at_most_the_free_slots_in_trial_order()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 5));
        var events = _engine.Dispatch(state, "w1", 2, T0);
        Assert.Equal(["s1-t0001", "s1-t0002"], events.Cast<TrialDispatched>().Select(e => e.TrialId));
        state = state.ApplyAll(events);
        Assert.Equal(["s1-t0003"], _engine.Dispatch(state, "w2", 1, T0).Cast<TrialDispatched>().Select(e => e.TrialId));
        Assert.Empty(_engine.Dispatch(state, "w2", 0, T0));
        state = Dispatch(state, "w2", 10);
        Assert.Equal(5, state.Counts.Running);
        Assert.Empty(_engine.Dispatch(state, "w3", 4, T0));
        Assert.Equal(["s1-t0001", "s1-t0002"], state.RunningByWorker["w1"]);
    }

    [Fact]
    public void Completion_is_idempotent_and_late_or_unknown_results_are_ignored()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 3));
        var notDispatched = _engine.Complete(state, "s1-t0001", TestSpecs.FakeResult(state.GetTrial("s1-t0001").Spec, "w1"));
        Assert.Empty(notDispatched);
        state = Dispatch(state, "w1", 1);
        var result = TestSpecs.FakeResult(state.GetTrial("s1-t0001").Spec, "w1");
        var first = _engine.Complete(state, "s1-t0001", result);
        Assert.IsType<TrialCompleted>(Assert.Single(first));
        state = state.ApplyAll(first);
        Assert.Empty(_engine.Complete(state, "s1-t0001", result));
        Assert.Empty(_engine.Complete(state, "s1-t0001", result with { BestValAcc = 0.99 }));
        Assert.Empty(_engine.Complete(state, "nope", result));
        // Applying a duplicate event directly changes nothing either.
        Assert.Same(state, state.Apply(first[0]));
        Assert.Equal(1, state.Counts.Completed);
    }

    [Fact]
    public void The_last_terminal_trial_of_a_stage_starts_the_next_stage_as_the_planner_predicts()
    {
        var (spec, state) = Started(TestSpecs.Spec(stage1: 3, stage2: 2));
        state = Dispatch(state, "w1", 3);
        state = Finish(state, "s1-t0002");
        state = Finish(state, "s1-t0001");
        var predicted = SweepPlanner.NextStage(state);
        Assert.Equal(1, predicted!.Stage);
        var events = _engine.Complete(state, "s1-t0003", TestSpecs.FakeResult(state.GetTrial("s1-t0003").Spec, "w1"));
        Assert.Equal(3, events.Count);
        Assert.IsType<TrialCompleted>(events[0]);
        Assert.Equal(1, Assert.IsType<StageCompleted>(events[1]).Stage);
        var next = Assert.IsType<StageStarted>(events[2]);
        Assert.Equal(2, next.Stage);
        Assert.Equal(spec.Stages[1].Count + spec.Stages[1].CarryOver, next.Trials.Length);
        Assert.All(next.Trials, t => Assert.Equal(2, t.Params.GetInt("epochs")));
        var afterStage1 = state.ApplyAll(events.Take(2));
        Assert.Equal(next.Trials.ToArray(), SweepPlanner.NextStage(afterStage1)!.Trials.ToArray());
    }

    [Fact]
    public void Sweep_completes_after_the_last_stage()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 2, stage2: 0));
        state = Dispatch(state, "w1", 2);
        state = Finish(state, "s1-t0001");
        var events = _engine.Complete(state, "s1-t0002", TestSpecs.FakeResult(state.GetTrial("s1-t0002").Spec, "w1"));
        Assert.IsType<StageCompleted>(events[^2]);
        Assert.IsType<SweepCompleted>(events[^1]);
        state = state.ApplyAll(events);
        Assert.True(state.IsCompleted);
        Assert.Null(SweepPlanner.NextStage(state));
        Assert.Empty(_engine.Dispatch(state, "w1", 4, T0));
    }

    [Fact]
    public void A_final_failure_is_terminal_at_once_whatever_retries_are_left()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 2, stage2: 0, maxRetries: 2));
        state = Dispatch(state, "w1", 1);
        var events = _engine.Fail(state, "s1-t0001", "configuration error in parameter 'groups': groups 3 does not divide 32", "w1", final: true);
        var failed = Assert.IsType<TrialFailed>(events[0]);
        Assert.True(failed.Terminal);
        Assert.Equal(1, failed.Attempt);
        state = state.ApplyAll(events);
        Assert.Equal(TrialStatus.Failed, state.GetTrial("s1-t0001").Status);
        Assert.Equal(1, state.GetTrial("s1-t0001").Attempts);
        Assert.Contains("'groups'", state.GetTrial("s1-t0001").FailureReason);
        Assert.DoesNotContain(state.Pending, p => p.TrialId == "s1-t0001");
    }

    [Fact]
    public void Failures_are_retried_up_to_the_limit_then_terminal()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 2, stage2: 0, maxRetries: 2));
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            state = Dispatch(state, "w1", 1);
            var failed = Assert.IsType<TrialFailed>(Assert.Single(_engine.Fail(state, "s1-t0001", "CUDA out of memory", "w1")));
            Assert.False(failed.Terminal);
            Assert.Equal(attempt, failed.Attempt);
            state = state.Apply(failed);
            Assert.Equal(TrialStatus.Pending, state.GetTrial("s1-t0001").Status);
        }
        state = Dispatch(state, "w1", 1);
        Assert.Equal(3, state.GetTrial("s1-t0001").Attempts);
        var last = _engine.Fail(state, "s1-t0001", "CUDA out of memory", "w1");
        Assert.True(Assert.IsType<TrialFailed>(last[0]).Terminal);
        state = state.ApplyAll(last);
        Assert.Equal(TrialStatus.Failed, state.GetTrial("s1-t0001").Status);
        Assert.Equal("CUDA out of memory", state.GetTrial("s1-t0001").FailureReason);
        Assert.Empty(_engine.Fail(state, "s1-t0001", "again", "w1"));
    }

    [Fact]
    public void A_failure_reported_by_a_worker_that_no_longer_runs_the_trial_is_ignored()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 1, stage2: 0));
        state = Dispatch(state, "w1", 1);
        state = state.ApplyAll(_engine.WorkerLost(state, "w1"));
        state = Dispatch(state, "w2", 1);
        Assert.Empty(_engine.Fail(state, "s1-t0001", "late failure", "w1"));
        Assert.Empty(_engine.ReportEpoch(state, "s1-t0001", "w1", 1, 1.0, 0.3, 0.3));
        Assert.Single(_engine.ReportEpoch(state, "s1-t0001", "w2", 1, 1.0, 0.3, 0.3));
    }

    [Fact]
    public void Diverged_is_terminal_and_never_retried()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 2, stage2: 0));
        state = Dispatch(state, "w1", 1);
        var diverged = new TrialResult(TrialStatus.Diverged, 0.1, 1, [0.1], [0.1], 1e9, 3, null, "w1");
        state = state.ApplyAll(_engine.Complete(state, "s1-t0001", diverged));
        Assert.Equal(TrialStatus.Diverged, state.GetTrial("s1-t0001").Status);
        Assert.Equal(1, state.Counts.Diverged);
        Assert.DoesNotContain(_engine.Dispatch(state, "w1", 5, T0).Cast<TrialDispatched>(), d => d.TrialId == "s1-t0001");
        Assert.Null(state.BestTrialId);
    }

    [Fact]
    public void A_failed_result_counts_as_a_failure_and_a_cancelled_one_requeues()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 2, stage2: 0));
        state = Dispatch(state, "w1", 2);
        var failed = new TrialResult(TrialStatus.Failed, 0, 0, [], [], 0, 1, null, "w1", "boom");
        var events = _engine.Complete(state, "s1-t0001", failed);
        Assert.Equal("boom", Assert.IsType<TrialFailed>(Assert.Single(events)).Reason);
        var cancelled = new TrialResult(TrialStatus.Cancelled, 0, 0, [], [], 0, 1, null, "w1");
        Assert.IsType<TrialRequeued>(Assert.Single(_engine.Complete(state, "s1-t0002", cancelled)));
    }

    [Fact]
    public void A_lost_worker_has_only_its_trials_requeued_without_counting_failures()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 4, stage2: 0));
        state = Dispatch(state, "w1", 2);
        state = Dispatch(state, "w2", 2);
        var events = _engine.WorkerLost(state, "w1");
        Assert.Equal(["s1-t0001", "s1-t0002"], events.Cast<TrialRequeued>().Select(e => e.TrialId));
        state = state.ApplyAll(events);
        Assert.Equal(2, state.Counts.Pending);
        Assert.False(state.RunningByWorker.ContainsKey("w1"));
        Assert.Equal(0, state.GetTrial("s1-t0001").Failures);
        Assert.Empty(_engine.WorkerLost(state, "w1"));
        state = Dispatch(state, "w3", 1);
        Assert.Equal("w3", state.GetTrial("s1-t0001").Worker);
        Assert.Equal(2, state.GetTrial("s1-t0001").Attempts);
        // The lost worker's result may still arrive: it is accepted once, the re-run's result is then a duplicate.
        var late = _engine.Complete(state, "s1-t0002", TestSpecs.FakeResult(state.GetTrial("s1-t0002").Spec, "w1"));
        Assert.IsType<TrialCompleted>(Assert.Single(late));
    }

    [Fact]
    public void Trials_past_the_timeout_fail_for_good()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 2, stage2: 0, timeout: TimeSpan.FromMinutes(5)));
        state = Dispatch(state, "w1", 1, T0);
        state = Dispatch(state, "w1", 1, T0.AddMinutes(3));
        Assert.Empty(_engine.TimedOut(state, T0.AddMinutes(4)));
        var events = _engine.TimedOut(state, T0.AddMinutes(6));
        var failed = Assert.IsType<TrialFailed>(Assert.Single(events));
        Assert.Equal("s1-t0001", failed.TrialId);
        Assert.True(failed.Terminal);
        Assert.Contains("timed out", failed.Reason);
        state = state.ApplyAll(events);
        Assert.Empty(_engine.Complete(state, "s1-t0001", TestSpecs.FakeResult(state.GetTrial("s1-t0001").Spec, "w1")));
    }

    [Fact]
    public void Epoch_reports_update_the_running_trial_and_stale_ones_are_dropped()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 1, stage2: 0));
        state = Dispatch(state, "w1", 1);
        state = state.ApplyAll(_engine.ReportEpoch(state, "s1-t0001", "w1", 1, 2.0, 0.3, 0.28));
        Assert.Empty(_engine.ReportEpoch(state, "s1-t0001", "w1", 1, 2.0, 0.3, 0.28));
        Assert.Equal(new EpochProgress(1, 2.0, 0.3, 0.28), state.GetTrial("s1-t0001").LastEpoch);
        Assert.Equal(TrialDecision.Continue, _engine.EarlyStop(state, "s1-t0001"));
        var progress = state.Progress(T0.AddSeconds(30));
        var running = Assert.Single(progress.Running);
        Assert.Equal((1, 0.28, "w1"), (running.Epoch, running.LatestValAcc!.Value, running.Worker));
        Assert.Equal(TimeSpan.FromSeconds(30), running.Elapsed);
    }

    [Fact]
    public void Replay_puts_dispatched_but_unfinished_trials_back_to_pending_and_keeps_finished_ones()
    {
        var spec = TestSpecs.Spec(stage1: 4, stage2: 0);
        var journal = new List<ISweepEvent>(_engine.Start(spec));
        var state = SweepState.Replay(journal);
        void Persist(IEnumerable<ISweepEvent> events) { journal.AddRange(events); state = SweepState.Replay(journal); }
        Persist(_engine.Dispatch(state, "w1", 3, T0));
        Persist(_engine.Complete(state, "s1-t0001", TestSpecs.FakeResult(state.GetTrial("s1-t0001").Spec, "w1")));
        var recovered = SweepState.Recover(journal);
        Assert.Equal(TrialStatus.Completed, recovered.GetTrial("s1-t0001").Status);
        Assert.Equal(TrialStatus.Pending, recovered.GetTrial("s1-t0002").Status);
        Assert.Equal(TrialStatus.Pending, recovered.GetTrial("s1-t0003").Status);
        Assert.Empty(recovered.RunningByWorker);
        var redispatched = _engine.Dispatch(recovered, "w2", 10, T0).Cast<TrialDispatched>().Select(d => d.TrialId);
        Assert.Equal(["s1-t0002", "s1-t0003", "s1-t0004"], redispatched);
        // The engine's Recover gives the same result as explicit events the actor can persist.
        var replayed = SweepState.Replay(journal);
        Assert.Equal(2, _engine.Recover(replayed).Count);
        Assert.Equal(recovered.Counts, replayed.ApplyAll(_engine.Recover(replayed)).Counts);
    }

    [Fact]
    public void Recover_finishes_a_stage_transition_cut_off_by_a_crash()
    {
        var (_, state) = Started(TestSpecs.Spec(stage1: 1, stage2: 2));
        state = Dispatch(state, "w1", 1);
        var events = _engine.Complete(state, "s1-t0001", TestSpecs.FakeResult(state.GetTrial("s1-t0001").Spec, "w1"));
        var cut = state.Apply(events[0]);
        var recovery = _engine.Recover(cut);
        Assert.Equal(events.Skip(1), recovery);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 1, 2)]
    [InlineData(3, 2, 3)]
    [InlineData(5, 4, 4)]
    public void Stage_configs_do_not_depend_on_worker_count_or_arrival_order(int workers, int slots, int orderSeed)
    {
        var spec = TestSpecs.Spec(seed: 21, stage1: 8, stage2: 4, stage3: 3);
        var reference = new SweepSimulator(spec, 1, 1, 0).Run();
        var other = new SweepSimulator(spec, workers, slots, orderSeed).Run();
        Assert.True(other.IsCompleted);
        Assert.Equal(Specs(reference), Specs(other));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(10)]
    [InlineData(17)]
    [InlineData(30)]
    public void A_sweep_resumed_after_a_crash_runs_exactly_the_uninterrupted_set_of_trials(int crashAfterEvents)
    {
        var spec = TestSpecs.Spec(seed: 5, stage1: 6, stage2: 3, stage3: 2);
        var reference = new SweepSimulator(spec, 2, 1, 1).Run();
        var crashed = new SweepSimulator(spec, 2, 1, 4, crashAfterEvents);
        var resumed = crashed.Run();
        Assert.True(resumed.IsCompleted);
        Assert.Equal(Specs(reference), Specs(resumed));
        // Nothing that finished before the crash ran again: one TrialCompleted per trial in the whole journal.
        var completions = crashed.Journal.OfType<TrialCompleted>().GroupBy(c => c.TrialId);
        Assert.All(completions, g => Assert.Single(g));
        Assert.Equal(resumed.Trials.Count, completions.Count());
    }

    private static List<string> Specs(SweepState state) =>
        [.. state.Trials.Values.OrderBy(t => t.Ordinal).Select(t => $"{t.TrialId} {t.Spec.Seed} {t.Spec.Params.Key}")];
}
