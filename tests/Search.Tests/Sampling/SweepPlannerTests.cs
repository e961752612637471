using Sweep.Search.Engine;
using Sweep.Search.Planning;
using Sweep.Search.Tests.Support;

namespace Sweep.Search.Tests.Sampling;

public class SweepPlannerTests
{
    private readonly SweepEngine _engine = new();

    [Fact]
    public void Describe_is_deterministic_and_lists_each_trial_with_its_searched_values()
    {
        var spec = TestSpecs.Spec(seed: 3, stage1: 4);
        var text = SweepPlanner.Describe(spec, SweepPlanner.FirstStage(spec));
        Assert.Equal(text, SweepPlanner.Describe(spec, SweepPlanner.FirstStage(spec)));
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("sweep test: model fc, sampler coarse_to_fine, seed 3, 2 stage(s)", lines[0]);
        Assert.Equal("stage 1 of 2: 4 trial(s), 1 epoch(s) on 1000 training images each", lines[1]);
        Assert.Equal(4, lines.Count(l => l.StartsWith("  s1-t", StringComparison.Ordinal)));
        Assert.Contains("learning_rate=", lines[^1]);
        Assert.DoesNotContain("lr_decay", lines[^1]);
        Assert.NotEqual(text, SweepPlanner.Describe(spec with { Seed = 4 }, SweepPlanner.FirstStage(spec with { Seed = 4 })));
    }

    [Fact]
    public void Next_stage_follows_the_sweep_from_start_to_end()
    {
        var spec = TestSpecs.Spec(stage1: 2, stage2: 1);
        Assert.Null(SweepPlanner.NextStage(SweepState.Empty));
        var started = SweepState.Empty.Apply(new SweepStarted(spec, spec.Seed));
        Assert.Equal(SweepPlanner.FirstStage(spec), SweepPlanner.NextStage(started));
        var state = SweepState.Empty.ApplyAll(_engine.Start(spec));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 2, TestSpecs.T0));
        var running = SweepPlanner.NextStage(state)!;
        Assert.Equal(1, running.Stage);
        Assert.Contains("stage 2 depends on its results", running.Note);
        foreach (var id in new[] { "s1-t0001", "s1-t0002" })
        {
            var events = _engine.Complete(state, id, TestSpecs.FakeResult(state.GetTrial(id).Spec, "w1"));
            if (id == "s1-t0002")
            {
                var beforeStart = state.ApplyAll(events.TakeWhile(e => e is not StageStarted));
                Assert.Equal(Assert.IsType<StageStarted>(events[^1]).Trials.ToArray(), SweepPlanner.NextStage(beforeStart)!.Trials.ToArray());
            }
            state = state.ApplyAll(events);
        }
        Assert.Equal(2, state.CurrentStage);
        var open = state.StageTrials[2].Length;
        Assert.Contains($"stage 2 is running ({open} of {open} trials open); it is the last stage", SweepPlanner.DescribeNext(state));
        Assert.Equal("the journal holds no sweep yet\n", SweepPlanner.DescribeNext(SweepState.Empty));
        Assert.Contains("stage 1 of 2: 2 trial(s)", SweepPlanner.DescribeNext(started));
    }
}
