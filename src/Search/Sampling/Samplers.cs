using System.Collections.Immutable;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;

namespace Sweep.Search.Sampling;

/// <summary>Independent random search over the full space in every stage (log ranges uniform in log space).</summary>
public sealed class RandomSampler(SearchSpace space, long seed) : ISampler
{
    public string Kind => "random";

    public SearchSpace Space { get; } = space;

    public ImmutableArray<TrialConfig> Ask(StageRequest request)
    {
        var random = SeedDerivation.StageRandom(seed, request.Stage);
        return [.. Enumerable.Range(0, request.StageSpec.Count).Select(_ => Space.Sample(random))];
    }

    public TrialDecision Tell(TrialProgress progress, IEnumerable<TrialProgress> stagePeers) => TrialDecision.Continue;
}

/// <summary>
/// Cartesian grid over the full space: every choice, and <c>pointsPerRange</c> evenly spaced points per range (in log
/// space for log ranges). A stage that asks for fewer configs than the grid holds gets a seeded subset in grid order.
/// </summary>
public sealed class GridSampler : ISampler
{
    private readonly long _seed;

    public GridSampler(SearchSpace space, long seed, int pointsPerRange)
    {
        if (pointsPerRange < 1) throw new ArgumentException($"grid_points must be at least 1, got {pointsPerRange}");
        Space = space;
        _seed = seed;
        PointsPerRange = pointsPerRange;
    }

    public string Kind => "grid";
    public SearchSpace Space { get; }
    public int PointsPerRange { get; }

    public long Size => Space.GridSize(PointsPerRange);

    public ImmutableArray<TrialConfig> Ask(StageRequest request)
    {
        var grid = Space.Grid(PointsPerRange);
        var count = request.StageSpec.Count;
        if (count >= grid.Length) return grid;
        var random = SeedDerivation.StageRandom(_seed, request.Stage);
        var chosen = Enumerable.Range(0, grid.Length).ToArray();
        // Partial Fisher-Yates picks `count` distinct points; sorting them keeps grid order in the output.
        for (var i = 0; i < count; i++)
        {
            var j = i + random.Next(chosen.Length - i);
            (chosen[i], chosen[j]) = (chosen[j], chosen[i]);
        }
        return [.. chosen.Take(count).Order().Select(i => grid[i])];
    }

    public TrialDecision Tell(TrialProgress progress, IEnumerable<TrialProgress> stagePeers) => TrialDecision.Continue;
}

/// <summary>
/// Coarse-to-fine random search. Stage 1 samples the full space. Stage k+1 ranks stage k's trials
/// (<see cref="TrialSnapshot.BestFirst"/>), keeps the completed ones among the top-K, carries the best
/// <c>carry_over</c> of them over unchanged, and samples <c>count</c> new configs inside the space narrowed around
/// them (<see cref="SearchSpace.NarrowAround"/>). With no completed trial the full space is used again.
/// </summary>
public sealed class CoarseToFineSampler(SearchSpace space, long seed) : ISampler
{
    public string Kind => "coarse_to_fine";

    public SearchSpace Space { get; } = space;

    public ImmutableArray<TrialConfig> Ask(StageRequest request)
    {
        var (narrowed, carried) = Plan(request);
        var random = SeedDerivation.StageRandom(seed, request.Stage);
        return [.. carried, .. Enumerable.Range(0, request.StageSpec.Count).Select(_ => narrowed.Sample(random))];
    }

    /// <summary>The space stage <see cref="StageRequest.Stage"/> samples from and the configs it carries over.</summary>
    public (SearchSpace Space, ImmutableArray<TrialConfig> CarriedOver) Plan(StageRequest request)
    {
        if (request.Stage <= 1 || request.StageSpec.TopK <= 0) return (Space, []);
        var top = request.PreviousStage
            .Order(TrialSnapshot.BestFirst)
            .Take(request.StageSpec.TopK)
            .Where(t => t.Status == Trials.TrialStatus.Completed)
            .Select(t => t.Config.Only(Space.Dimensions.Select(d => d.Name)))
            .ToList();
        var carried = top.Take(request.StageSpec.CarryOver).ToImmutableArray();
        return (Space.NarrowAround(top, request.StageSpec.Margin), carried);
    }

    public TrialDecision Tell(TrialProgress progress, IEnumerable<TrialProgress> stagePeers) => TrialDecision.Continue;
}

/// <summary>Builds the sampler a spec asks for, with its pruning rules when it has any (<see cref="PruningSampler"/>).</summary>
public static class SamplerFactory
{
    public static ISampler Create(SweepSpec spec)
    {
        ISampler sampler = spec.Sampler switch
        {
            SamplerKind.Random => new RandomSampler(spec.Space, spec.Seed),
            SamplerKind.Grid => new GridSampler(spec.Space, spec.Seed, spec.GridPoints),
            SamplerKind.Tpe => new TpeSampler(spec.Space, spec.Seed, spec.Tpe ?? TpeSettings.Default),
            _ => new CoarseToFineSampler(spec.Space, spec.Seed),
        };
        var prunes = Enumerable.Range(1, spec.Stages.Length).Any(stage => spec.PruningOf(stage).Rule != PruningRule.None);
        return prunes ? new PruningSampler(sampler, spec) : sampler;
    }
}
