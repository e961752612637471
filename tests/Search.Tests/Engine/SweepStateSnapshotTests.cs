using System.Diagnostics;
using Sweep.Search.Engine;
using Sweep.Search.Serialization;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;
using Xunit.Abstractions;

namespace Sweep.Search.Tests.Engine;

public class SweepStateSnapshotTests(ITestOutputHelper output)
{
    private readonly SweepEngine _engine = new();

    [Fact]
    public void A_snapshot_restores_a_state_that_behaves_like_the_original()
    {
        var sim = new SweepSimulator(TestSpecs.Spec(stage1: 6, stage2: 3), 2, 2, 3);
        sim.Run();
        // Cut the journal mid-stage-2 with trials running, epochs reported, failures and requeues.
        var journal = sim.Journal.Take(sim.Journal.FindIndex(e => e is StageStarted { Stage: 2 }) + 1).ToList();
        var state = SweepState.Replay(journal);
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 2, TestSpecs.T0));
        state = state.ApplyAll(_engine.Dispatch(state, "w2", 1, TestSpecs.T0));
        state = state.ApplyAll(_engine.ReportEpoch(state, "s2-t0001", "w1", 1, 1.1, 0.5, 0.45));
        state = state.ApplyAll(_engine.Fail(state, "s2-t0002", "boom", "w1"));
        var json = SweepJson.Serialize(state);
        var restored = SweepJson.Deserialize<SweepState>(json);

        Assert.Equal(state.Counts, restored.Counts);
        Assert.Equal(state.Pending, restored.Pending);
        Assert.Equal(state.RunningByWorker.Keys.Order(), restored.RunningByWorker.Keys.Order());
        Assert.Equal(state.BestTrialId, restored.BestTrialId);
        Assert.Equal(state.CurrentStage, restored.CurrentStage);
        Assert.Equal(state.OpenByStage.OrderBy(kv => kv.Key), restored.OpenByStage.OrderBy(kv => kv.Key));
        Assert.Equal(state.Trials.Values.OrderBy(t => t.Ordinal), restored.Trials.Values.OrderBy(t => t.Ordinal));
        Assert.Equal(json, SweepJson.Serialize(restored));
        Assert.Equal(_engine.Dispatch(state, "w3", 5, TestSpecs.T0), _engine.Dispatch(restored, "w3", 5, TestSpecs.T0));
        Assert.Equal(_engine.WorkerLost(state, "w1"), _engine.WorkerLost(restored, "w1"));
    }

    [Fact]
    public void A_snapshot_of_a_halving_stage_keeps_paused_trials_their_rungs_and_runs()
    {
        var spec = TestSpecs.Spec(stage1: 9, stage2: 0) with
        {
            Stages = [new StageSpec(9, 9, 1000)],
            Pruning = new PruningSpec(PruningRule.SuccessiveHalving, MinEpochs: 1, ReductionFactor: 3),
        };
        var sim = new SweepSimulator(spec, 2, 2, 1, train: SuccessiveHalvingEngineTests.Curve);
        sim.Run();
        // Cut the journal after the first promotions: paused, promoted (pending) and pruned trials side by side.
        var journal = sim.Journal.Take(sim.Journal.FindLastIndex(e => e is TrialPruned { Epoch: 1 }) + 1).ToList();
        var state = SweepState.Replay(journal);
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, TestSpecs.T0));
        Assert.True(state.Counts.Pending > 0 && state.Counts.Pruned > 0 && state.Counts.Running > 0);
        var restored = SweepJson.Deserialize<SweepState>(SweepJson.Serialize(state));
        Assert.Equal(state.Counts, restored.Counts);
        Assert.Equal(state.Trials.Values.OrderBy(t => t.Ordinal), restored.Trials.Values.OrderBy(t => t.Ordinal));
        Assert.All(restored.Trials.Values.Where(t => t.Status != TrialStatus.Running), t => Assert.Single(t.Rungs));
        Assert.Equal(_engine.Dispatch(state, "w2", 5, TestSpecs.T0), _engine.Dispatch(restored, "w2", 5, TestSpecs.T0));
    }

    [Fact]
    public void Ten_thousand_trials_apply_snapshot_and_restore_quickly()
    {
        var spec = TestSpecs.Spec(stage1: 10_000, stage2: 0);
        var clock = Stopwatch.StartNew();
        var state = SweepState.Empty.ApplyAll(_engine.Start(spec));
        var started = clock.Elapsed;
        for (var w = 0; w < 100; w++) state = state.ApplyAll(_engine.Dispatch(state, $"w{w}", 100, TestSpecs.T0));
        Assert.Equal(10_000, state.Counts.Running);
        foreach (var id in state.StageTrials[1].Take(9_000))
            state = state.ApplyAll(_engine.Complete(state, id, TestSpecs.FakeResult(state.Trials[id].Spec, state.Trials[id].Worker!)));
        var applied = clock.Elapsed;
        var json = SweepJson.Serialize(state);
        var written = clock.Elapsed;
        var restored = SweepJson.Deserialize<SweepState>(json);
        var snapshot = clock.Elapsed;
        Assert.Equal(9_000, restored.Counts.Terminal);
        Assert.Equal(state.Counts, restored.Counts);
        Assert.Equal(1_000, restored.Counts.Running);
        output.WriteLine($"10,000 trials: start {started.TotalMilliseconds:F0} ms, dispatch + 9,000 completions {(applied - started).TotalMilliseconds:F0} ms, " +
            $"snapshot {json.Length / 1024} KiB written in {(written - applied).TotalMilliseconds:F0} ms, read in {(snapshot - written).TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void Progress_reports_counts_best_and_an_eta_once_a_trial_finished()
    {
        var spec = TestSpecs.Spec(stage1: 4, stage2: 2);
        var state = SweepState.Empty.ApplyAll(_engine.Start(spec));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 2, TestSpecs.T0));
        Assert.Null(state.Progress(TestSpecs.T0).Eta);
        state = state.ApplyAll(_engine.Complete(state, "s1-t0001", TestSpecs.FakeResult(state.GetTrial("s1-t0001").Spec, "w1")));
        var progress = state.Progress(TestSpecs.T0.AddSeconds(5));
        Assert.Equal(1, progress.Stage);
        Assert.Equal(2, progress.StageCount);
        Assert.Equal(new StatusCounts(2, 1, 1, 0, 0, 0), progress.Counts);
        Assert.Equal("s1-t0001", progress.Best!.TrialId);
        Assert.Equal(state.GetTrial("s1-t0001").Result!.BestValAcc, progress.Best.BestValAcc);
        // 2 s for 1 epoch x 1000 images: 3 open stage-1 trials (3,000) + stage 2 (3 trials x 2 epochs x 2000 = 12,000) on 1 running slot.
        Assert.Equal(TimeSpan.FromSeconds(30), progress.Eta);
        state = state.ApplyAll(_engine.ReportEpoch(state, "s1-t0002", "w1", 1, 1.5, 0.4, 0.3812));
        var text = state.Progress(TestSpecs.T0.AddSeconds(75)).ToText().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var best = state.GetTrial("s1-t0001").Result!.BestValAcc.ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"sweep test: stage 1 of 2 | 2 pending, 1 running, 1 completed, 0 diverged, 0 failed | best s1-t0001 val {best} (epoch 1) | ETA 28s", text[0]); // its one epoch is done: 1,000 fewer units left
        Assert.Equal("  s1-t0002 on w1: epoch 1/1, val 0.3812, 1m15s", text[1]);
    }
}
