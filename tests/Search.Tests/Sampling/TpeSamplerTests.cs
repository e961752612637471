using System.Collections.Immutable;
using Sweep.Search.Sampling;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Sampling;

/// <summary>TPE through the shared contract, with few enough startup trials that stage 2 is modelled, not random.</summary>
public sealed class TpeSamplerContractTests : SamplerContractTests
{
    protected override ISampler Create(SearchSpace space, long seed) => new TpeSampler(space, seed, new TpeSettings(NStartupTrials: 4));
}

/// <summary>What TPE itself promises: random until enough trials finished, then configs pulled toward the good ones.</summary>
public class TpeSamplerTests
{
    private static readonly SearchSpace Space = new([
        new FloatRange("learning_rate", 1e-5, 1e-1, log: true),
        new FloatRange("dropout", 0.0, 0.5),
        new IntRange("batch_size", 16, 512, log: true),
        new Choice("update_rule", [ParamValue.Of("adam"), ParamValue.Of("sgd_momentum"), ParamValue.Of("rmsprop")]),
        new Fixed("reg", ParamValue.Of(1e-4)),
    ]);

    private static readonly StageSpec Stage = new(Count: 20, Epochs: 1, NumTrain: 1000);

    /// <summary>A synthetic objective: best at learning_rate 1e-3, dropout 0.1, batch 64 and adam.</summary>
    private static double Score(TrialConfig c) =>
        0.6 - 0.08 * Math.Pow(Math.Log10(c.GetDouble("learning_rate")) + 3, 2) - 0.3 * Math.Abs(c.GetDouble("dropout") - 0.1)
        - 0.05 * Math.Abs(Math.Log2(c.GetInt("batch_size")) - 6) - (c.GetString("update_rule") == "adam" ? 0 : 0.1);

    private static ImmutableArray<TrialSnapshot> Scored(IEnumerable<TrialConfig> configs, int stage = 1) =>
        [.. configs.Select((c, i) => new TrialSnapshot(TrialSpec.MakeId(stage, i + 1), stage, i + 1, c, TrialStatus.Completed, Score(c), 1))];

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    [Fact]
    public void Before_n_startup_trials_finished_it_samples_exactly_like_random_search()
    {
        var history = Scored(new RandomSampler(Space, 5).Ask(new StageRequest(1, Stage with { Count = 9 }, [])));
        var tpe = new TpeSampler(Space, 5, new TpeSettings(NStartupTrials: 10)).Ask(new StageRequest(2, Stage, history));
        var random = new RandomSampler(Space, 5).Ask(new StageRequest(2, Stage, history));
        Assert.Equal(random.Select(c => c.Key), tpe.Select(c => c.Key));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Once_modelled_its_configs_score_better_than_random_search_from_the_same_history(long seed)
    {
        var history = Scored(new RandomSampler(Space, seed).Ask(new StageRequest(1, Stage with { Count = 30 }, [])));
        var request = new StageRequest(2, Stage, history);
        var tpe = new TpeSampler(Space, seed, new TpeSettings(NStartupTrials: 10)).Ask(request);
        var random = new RandomSampler(Space, seed).Ask(request);
        var tpeMedian = Median(tpe.Select(Score));
        var randomMedian = Median(random.Select(Score));
        Assert.True(tpeMedian > randomMedian + 0.05, $"TPE median score {tpeMedian:0.000} vs random {randomMedian:0.000}");
        Assert.True(tpe.Count(c => c.GetString("update_rule") == "adam") > Stage.Count / 2, "most picks use the good choice");
    }

    [Fact]
    public void The_configs_of_one_stage_are_distinct_even_when_the_history_favours_one_region()
    {
        var history = Scored(new RandomSampler(Space, 3).Ask(new StageRequest(1, Stage with { Count = 30 }, [])));
        var configs = new TpeSampler(Space, 3, new TpeSettings(NStartupTrials: 10)).Ask(new StageRequest(2, Stage, history));
        Assert.Equal(Stage.Count, configs.Select(c => c.Key).Distinct().Count());
        Assert.All(configs, c => Assert.True(Space.Contains(c), c.Key));
        Assert.All(configs, c => Assert.Equal(1e-4, c.GetDouble("reg")));
    }

    [Fact]
    public void Failed_and_cancelled_trials_are_not_evidence_but_diverged_ones_count_as_bad()
    {
        var configs = new RandomSampler(Space, 8).Ask(new StageRequest(1, Stage with { Count = 12 }, []));
        var completed = Scored(configs.Take(6));
        // Six failures with a (meaningless) high score: ignored, so below n_startup_trials = 7 TPE still samples at random.
        var failed = Scored(configs.Skip(6)).Select(t => t with { Status = TrialStatus.Failed, BestValAcc = 0.99 });
        var request = new StageRequest(2, Stage, [.. completed, .. failed]);
        var settings = new TpeSettings(NStartupTrials: 7);
        Assert.Equal(new RandomSampler(Space, 8).Ask(request).Select(c => c.Key), new TpeSampler(Space, 8, settings).Ask(request).Select(c => c.Key));
        var diverged = Scored(configs.Skip(6)).Select(t => t with { Status = TrialStatus.Diverged });
        var modelled = new StageRequest(2, Stage, [.. completed, .. diverged]);
        Assert.NotEqual(new RandomSampler(Space, 8).Ask(modelled).Select(c => c.Key), new TpeSampler(Space, 8, settings).Ask(modelled).Select(c => c.Key));
    }

    [Fact]
    public void Asked_one_slot_at_a_time_it_steers_away_from_the_open_trials_and_never_repeats_an_ask()
    {
        var history = Scored(new RandomSampler(Space, 4).Ask(new StageRequest(1, Stage with { Count = 30 }, [])));
        var tpe = new TpeSampler(Space, 4, new TpeSettings(NStartupTrials: 10));
        var one = Stage with { Count = 1 };
        var first = Assert.Single(tpe.Ask(new StageRequest(2, one, history, FirstIndex: 5)));
        // The same ask again gives the same config (a pure function); with that config open, the ask goes elsewhere.
        Assert.Equal(first.Key, Assert.Single(tpe.Ask(new StageRequest(2, one, history, FirstIndex: 5))).Key);
        Assert.NotEqual(first.Key, Assert.Single(tpe.Ask(new StageRequest(2, one, history, FirstIndex: 5, Open: [first]))).Key);
        // Each index has its own random stream, also while sampling at random before n_startup_trials.
        var startup = new TpeSampler(Space, 4, new TpeSettings(NStartupTrials: 100));
        var asks = Enumerable.Range(1, 6).Select(i => Assert.Single(startup.Ask(new StageRequest(1, one, [], FirstIndex: i))).Key).ToList();
        Assert.Equal(6, asks.Distinct().Count());
        // Index 1 is the whole-stage stream, so a stage asked whole starts with the same config.
        Assert.Equal(asks[0], startup.Ask(new StageRequest(1, Stage, []))[0].Key);
    }

    [Fact]
    public void The_spec_option_builds_a_tpe_sampler_with_its_settings()
    {
        var spec = Support.TestSpecs.Spec(sampler: SamplerKind.Tpe) with { Tpe = new TpeSettings(5, 0.3, 12) };
        var sampler = Assert.IsType<TpeSampler>(SamplerFactory.Create(spec));
        Assert.Equal(new TpeSettings(5, 0.3, 12), sampler.Settings);
        Assert.Equal("tpe", sampler.Kind);
    }
}
