using System.Collections.Immutable;
using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Sampling;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;

namespace Sweep.Search.Reporting;

/// <summary>
/// The space each started stage sampled from: the full space for stage 1 and for the random and grid samplers; for
/// coarse-to-fine, the space narrowed around the previous stage's top-K, recomputed from the journal the same way the
/// sampler computed it (<see cref="CoarseToFineSampler.Plan"/> is a pure function of the stage's history).
/// </summary>
public static class StageSpaces
{
    public static ImmutableSortedDictionary<int, SearchSpace> Of(SweepState state)
    {
        if (state.Spec is not { } spec) return ImmutableSortedDictionary<int, SearchSpace>.Empty;
        var spaces = ImmutableSortedDictionary.CreateBuilder<int, SearchSpace>();
        foreach (var stage in state.StageTrials.Keys.Order())
        {
            spaces[stage] = spec.Sampler == SamplerKind.CoarseToFine && stage > 1 && stage <= spec.Stages.Length
                ? new CoarseToFineSampler(spec.Space, spec.Seed).Plan(new StageRequest(stage, spec.Stages[stage - 1], state.HistoryBefore(stage))).Space
                : spec.Space;
        }
        return spaces.ToImmutable();
    }
}
