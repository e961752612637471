using System.Collections.Immutable;
using Sweep.Search.Sampling;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Sampling;

/// <summary>
/// The contract every sampler honours: configs inside the space, the requested count, a pure function of
/// (seed, stage, history) independent of the history's order, different seeds giving different configs, and later
/// stages never leaving the full space. Each sampler runs this suite through a derived class.
/// </summary>
public abstract class SamplerContractTests
{
    protected abstract ISampler Create(SearchSpace space, long seed);

    protected virtual StageSpec LaterStage => new(Count: 10, Epochs: 2, NumTrain: 1000);

    protected static readonly SearchSpace Space = TestSpecs.FcSpace();

    protected static readonly StageSpec FirstStage = new(Count: 10, Epochs: 1, NumTrain: 1000);

    /// <summary>Stage 1 results: configs from the sampler itself, scored deterministically, some diverged/failed.</summary>
    protected ImmutableArray<TrialSnapshot> History(long seed)
    {
        var configs = Create(Space, seed).Ask(new StageRequest(1, FirstStage, []));
        return [.. configs.Select((c, i) => new TrialSnapshot(TrialSpec.MakeId(1, i + 1), 1, i + 1, c,
            i % 5 == 4 ? TrialStatus.Diverged : i % 7 == 6 ? TrialStatus.Failed : TrialStatus.Completed,
            0.3 + 0.01 * ((i * 7) % 10), 1))];
    }

    [Fact]
    public void Stage_one_configs_lie_inside_the_space()
    {
        var configs = Create(Space, 11).Ask(new StageRequest(1, FirstStage, []));
        Assert.All(configs, c => Assert.True(Space.Contains(c), c.Key));
        Assert.All(configs, c => Assert.Equal(Space.Dimensions.Select(d => d.Name).Order(StringComparer.Ordinal), c.Names));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    public void Ask_returns_the_requested_number_of_configs(int count)
    {
        var configs = Create(Space, 5).Ask(new StageRequest(1, FirstStage with { Count = count }, []));
        Assert.Equal(count, configs.Length);
    }

    [Fact]
    public void Same_seed_gives_the_same_configs_from_a_fresh_instance()
    {
        var history = History(3);
        var a = Create(Space, 3);
        var b = Create(Space, 3);
        Assert.Equal(a.Ask(new StageRequest(1, FirstStage, [])).Select(c => c.Key), b.Ask(new StageRequest(1, FirstStage, [])).Select(c => c.Key));
        Assert.Equal(a.Ask(new StageRequest(2, LaterStage, history)).Select(c => c.Key), b.Ask(new StageRequest(2, LaterStage, history)).Select(c => c.Key));
        // Asking again (a retry after a restart) gives the same answer: no hidden state.
        Assert.Equal(a.Ask(new StageRequest(1, FirstStage, [])).Select(c => c.Key), a.Ask(new StageRequest(1, FirstStage, [])).Select(c => c.Key));
    }

    [Fact]
    public void Different_seeds_give_different_configs()
    {
        var a = Create(Space, 1).Ask(new StageRequest(1, FirstStage, [])).Select(c => c.Key);
        var b = Create(Space, 2).Ask(new StageRequest(1, FirstStage, [])).Select(c => c.Key);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void Later_stages_do_not_depend_on_the_order_results_arrived_in()
    {
        var history = History(9);
        var sampler = Create(Space, 9);
        var inOrder = sampler.Ask(new StageRequest(2, LaterStage, history)).Select(c => c.Key).ToList();
        var shuffled = history.OrderBy(t => SeedDerivation.Mix((ulong)t.Index * 31)).ToImmutableArray();
        var reversed = history.Reverse().ToImmutableArray();
        Assert.Equal(inOrder, sampler.Ask(new StageRequest(2, LaterStage, shuffled)).Select(c => c.Key));
        Assert.Equal(inOrder, sampler.Ask(new StageRequest(2, LaterStage, reversed)).Select(c => c.Key));
    }

    [Fact]
    public void Later_stages_never_leave_the_full_space()
    {
        foreach (var seed in new long[] { 1, 2, 3, 4 })
        {
            var configs = Create(Space, seed).Ask(new StageRequest(2, LaterStage, History(seed)));
            Assert.NotEmpty(configs);
            Assert.All(configs, c => Assert.True(Space.Contains(c), c.Key));
        }
    }

    [Fact]
    public void Built_in_samplers_let_running_trials_continue()
    {
        var config = Create(Space, 1).Ask(new StageRequest(1, FirstStage, []))[0];
        var progress = new TrialProgress("s1-t0001", 1, config, 1, 3, [0.2]);
        Assert.Equal(TrialDecision.Continue, Create(Space, 1).Tell(progress, []));
    }
}

public sealed class RandomSamplerContractTests : SamplerContractTests
{
    protected override ISampler Create(SearchSpace space, long seed) => new RandomSampler(space, seed);

    [Fact]
    public void Each_stage_samples_the_full_space_with_its_own_stream()
    {
        var sampler = Create(Space, 4);
        var stage1 = sampler.Ask(new StageRequest(1, FirstStage, [])).Select(c => c.Key);
        var stage2 = sampler.Ask(new StageRequest(2, FirstStage, History(4))).Select(c => c.Key);
        Assert.NotEqual(stage1, stage2);
    }
}

public sealed class GridSamplerContractTests : SamplerContractTests
{
    protected override ISampler Create(SearchSpace space, long seed) => new GridSampler(space, seed, pointsPerRange: 3);

    [Fact]
    public void A_count_at_least_the_grid_size_runs_the_whole_grid_once()
    {
        var sampler = new GridSampler(Space, 1, 3);
        Assert.Equal(3 * 3 * 3 * 3 * 3 * 2, sampler.Size);
        var configs = sampler.Ask(new StageRequest(1, FirstStage with { Count = 10_000 }, []));
        Assert.Equal(sampler.Size, configs.Length);
        Assert.Equal(configs.Length, configs.Select(c => c.Key).Distinct().Count());
    }

    [Fact]
    public void A_smaller_count_picks_distinct_grid_points()
    {
        var configs = Create(Space, 2).Ask(new StageRequest(1, FirstStage with { Count = 30 }, []));
        var grid = Space.Grid(3).Select(c => c.Key).ToHashSet();
        Assert.Equal(30, configs.Select(c => c.Key).Distinct().Count());
        Assert.All(configs, c => Assert.Contains(c.Key, grid));
    }
}

public sealed class CoarseToFineSamplerContractTests : SamplerContractTests
{
    protected override ISampler Create(SearchSpace space, long seed) => new CoarseToFineSampler(space, seed);

    protected override StageSpec LaterStage => new(Count: 10, Epochs: 2, NumTrain: 1000, TopK: 3, CarryOver: 2, Margin: 0.1);

    private static TrialSnapshot Snap(int index, double lr, string rule, double acc, TrialStatus status = TrialStatus.Completed) =>
        new(TrialSpec.MakeId(1, index), 1, index,
            TrialConfig.From(("learning_rate", ParamValue.Of(lr)), ("weight_scale", ParamValue.Of(0.01)), ("dropout", ParamValue.Of(0.2)),
                ("batch_size", ParamValue.Of(100)), ("update_rule", ParamValue.Of(rule)), ("hidden_dims", ParamValue.Of([100])), ("reg", ParamValue.Of(1e-4))),
            status, acc, 1);

    [Fact]
    public void Stage_two_samples_around_the_top_k_and_carries_the_best_over_first()
    {
        ImmutableArray<TrialSnapshot> history = [
            Snap(1, 1e-3, "adam", 0.50), Snap(2, 2e-3, "rmsprop", 0.52), Snap(3, 4e-3, "adam", 0.48),
            Snap(4, 5e-2, "sgd_momentum", 0.20), Snap(5, 9e-2, "sgd_momentum", 0.0, TrialStatus.Diverged)];
        var sampler = new CoarseToFineSampler(Space, 8);
        var configs = sampler.Ask(new StageRequest(2, LaterStage, history));
        Assert.Equal(LaterStage.Count + LaterStage.CarryOver, configs.Length);
        Assert.Equal(history[1].Config, configs[0]);
        Assert.Equal(history[0].Config, configs[1]);
        // Top-3 learning rates span [1e-3, 4e-3]; margin 0.1 of the 3-decade parent adds 0.3 decades per side.
        var low = 1e-3 / Math.Pow(10, 0.3);
        var high = 4e-3 * Math.Pow(10, 0.3);
        Assert.All(configs, c => Assert.InRange(c.GetDouble("learning_rate"), low * 0.999, high * 1.001));
        Assert.All(configs, c => Assert.Contains(c.GetString("update_rule"), new[] { "adam", "rmsprop" }));
        Assert.All(configs.Skip(2), c => Assert.NotEqual(history[0].Config, c));
        Assert.Equal(LaterStage.Count, configs.Skip(2).Select(c => c.Key).Distinct().Count());
    }

    [Fact]
    public void Diverged_and_failed_trials_rank_last_even_with_a_higher_val_accuracy()
    {
        ImmutableArray<TrialSnapshot> history = [
            Snap(1, 1e-3, "adam", 0.30), Snap(2, 2e-2, "rmsprop", 0.90, TrialStatus.Diverged), Snap(3, 3e-2, "rmsprop", 0.95, TrialStatus.Failed)];
        var (narrowed, carried) = new CoarseToFineSampler(Space, 1).Plan(new StageRequest(2, LaterStage with { TopK = 1, CarryOver = 1 }, history));
        Assert.Equal([history[0].Config], carried.ToArray());
        Assert.Equal(["adam"], Assert.IsType<Choice>(narrowed.Find("update_rule")).Values.Select(v => v.AsString()));
    }

    [Fact]
    public void With_no_completed_trial_the_next_stage_samples_the_full_space()
    {
        ImmutableArray<TrialSnapshot> history = [Snap(1, 1e-3, "adam", 0.0, TrialStatus.Failed), Snap(2, 2e-3, "adam", 0.0, TrialStatus.Diverged)];
        var (narrowed, carried) = new CoarseToFineSampler(Space, 1).Plan(new StageRequest(2, LaterStage, history));
        Assert.Equal(Space, narrowed);
        Assert.Empty(carried);
    }

    [Fact]
    public void Ties_in_val_accuracy_break_on_best_epoch_then_index_not_arrival_order()
    {
        var a = Snap(2, 1e-3, "adam", 0.5) with { BestEpoch = 2 };
        var b = Snap(1, 2e-3, "adam", 0.5) with { BestEpoch = 2 };
        var c = Snap(3, 3e-3, "adam", 0.5) with { BestEpoch = 1 };
        Assert.Equal([c, b, a], new[] { a, b, c }.Order(TrialSnapshot.BestFirst));
        Assert.Equal([c, b, a], new[] { c, a, b }.Order(TrialSnapshot.BestFirst));
    }
}
