using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Reporting;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;

namespace Sweep.Search.Tests.Reporting;

public class StageSpacesTests
{
    private static SweepState Finished(SamplerKind sampler)
    {
        var engine = new SweepEngine();
        var state = SweepState.Empty.ApplyAll(engine.Start(TestSpecs.Spec(stage1: 8, stage2: 4, stage3: 3, sampler: sampler)));
        while (!state.IsCompleted)
        {
            state = state.ApplyAll(engine.Dispatch(state, "w1", 4, TestSpecs.T0));
            foreach (var trial in state.RunningTrials.ToList())
                state = state.ApplyAll(engine.Complete(state, trial.TrialId, TestSpecs.FakeResult(trial.Spec, "w1")));
        }
        return state;
    }

    [Fact]
    public void Coarse_to_fine_stages_narrow_and_hold_every_trial_they_sampled()
    {
        var state = Finished(SamplerKind.CoarseToFine);
        var spaces = StageSpaces.Of(state);
        Assert.Equal([1, 2, 3], spaces.Keys);
        Assert.Equal(state.Spec!.Space, spaces[1]);
        for (var stage = 2; stage <= 3; stage++)
        {
            Assert.True(spaces[stage - 1].Encloses(spaces[stage]), $"stage {stage} lies inside stage {stage - 1}");
            Assert.NotEqual(spaces[stage - 1], spaces[stage]);
            foreach (var trial in state.TrialsOfStage(stage))
                Assert.True(spaces[stage].Contains(trial.Spec.Params.Only(spaces[stage].Dimensions.Select(d => d.Name))), $"{trial.TrialId} inside its stage's space");
        }
    }

    [Fact]
    public void Random_search_samples_the_full_space_in_every_stage()
    {
        var state = Finished(SamplerKind.Random);
        Assert.All(StageSpaces.Of(state).Values, space => Assert.Equal(state.Spec!.Space, space));
    }
}
