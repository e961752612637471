using Sweep.Search.Serialization;
using Sweep.Search.Specs;

namespace Sweep.Search.Tests.Specs;

/// <summary>The adaptive-search keys of a spec: sampler = tpe with its block, pruning (global and per stage), stage_start and quorum.</summary>
public class AdaptiveSpecTests
{
    private const string Base = """
        name = t
        seed = 1
        data { directory = "../data" }
        model { family = fc, hidden_dims = [100] }
        space { learning_rate { type = float, low = 1e-4, high = 1e-2, log = true } }
        """;

    private const string TwoStages = "stages = [ { count = 4, epochs = 3 }, { count = 2, epochs = 3 } ]\n";

    private static SweepSpec Parse(string extra, string stages = TwoStages) => SweepSpecLoader.Parse(Base + "\n" + extra + "\n" + stages, "t.conf", _ => null);

    private static string ErrorOf(string extra, string stages = TwoStages) =>
        Assert.Throws<SweepSpecException>(() => Parse(extra, stages)).Message;

    [Fact]
    public void Tpe_reads_its_block_and_takes_defaults_without_it()
    {
        Assert.Equal(new TpeSettings(5, 0.2, 48), Parse("sampler = tpe\ntpe { n_startup_trials = 5, gamma = 0.2, candidates = 48 }").Tpe);
        var spec = Parse("sampler = tpe");
        Assert.Equal(SamplerKind.Tpe, spec.Sampler);
        Assert.Equal(TpeSettings.Default, spec.Tpe);
        Assert.Null(Parse("").Tpe);
    }

    [Fact]
    public void Pruning_applies_to_every_stage_unless_a_stage_sets_its_own()
    {
        var spec = Parse("pruning { rule = median, min_epochs = 2 }",
            "stages = [ { count = 4, epochs = 3 }, { count = 2, epochs = 3, pruning { rule = none } } ]");
        Assert.Equal(new PruningSpec(PruningRule.Median, 2, 3), spec.PruningOf(1));
        Assert.Equal(PruningSpec.None, spec.PruningOf(2));
        var stageOnly = Parse("", "stages = [ { count = 4, epochs = 3, pruning { rule = median, min_peers = 1 } } ]");
        Assert.Equal(new PruningSpec(PruningRule.Median, 1, 1), stageOnly.PruningOf(1));
        Assert.Equal(PruningSpec.None, Parse("").PruningOf(1));
    }

    [Fact]
    public void Eager_stage_start_takes_a_quorum_defaulting_to_three_quarters()
    {
        Assert.Equal(new StageStartSpec(StageStartMode.Eager, 0.75), Parse("stage_start = eager").StageStart);
        Assert.Equal(new StageStartSpec(StageStartMode.Eager, 0.5), Parse("stage_start = eager\nquorum = 0.5").StageStart);
        Assert.Null(Parse("stage_start = barrier").StageStart);
    }

    [Theory]
    [InlineData("sampler = bayes", "t.conf: sampler = bayes: allowed: coarse_to_fine|random|grid|tpe")]
    [InlineData("tpe { gamma = 0.2 }", "t.conf: tpe: only sampler = tpe reads it; remove it or set sampler = tpe")]
    [InlineData("sampler = tpe\ntpe { gamma = 1.5 }", "t.conf: tpe.gamma = 1.5: allowed: a fraction in (0, 1), e.g. 0.25 (the share of trials that count as good)")]
    [InlineData("sampler = tpe\ntpe { n_startup = 3 }", "t.conf: tpe.n_startup: unknown key; allowed: n_startup_trials, gamma, candidates")]
    [InlineData("pruning { rule = asha }\ncheckpoints { every = 0 }", "t.conf: pruning.rule = asha: pauses trials at rungs and resumes them from their checkpoints, but checkpoints.every = 0 keeps none; set checkpoints.every = 1")]
    [InlineData("pruning { rule = mean }", "t.conf: pruning.rule = mean: allowed: none|median|successive_halving|asha")]
    [InlineData("pruning { min_epochs = 2 }", "t.conf: pruning.rule: missing; allowed: none|median|successive_halving|asha")]
    [InlineData("pruning { rule = successive_halving, reduction_factor = 1 }", "t.conf: pruning.reduction_factor = 1: allowed: an integer in [2, 100]")]
    [InlineData("pruning { rule = median, reduction_factor = 3 }", "t.conf: pruning.reduction_factor = 3: only rule = successive_halving or asha reads it")]
    [InlineData("pruning { rule = asha, min_peers = 3 }", "t.conf: pruning.min_peers = 3: only rule = median reads it; successive_halving and asha rank every trial at a rung (see reduction_factor)")]
    [InlineData("pruning { rule = median, min_epochs = 0 }", "t.conf: pruning.min_epochs = 0: allowed: an integer in [1, 10000]")]
    [InlineData("pruning = median", "t.conf: pruning = median: allowed: an object { ... }")]
    [InlineData("stage_start = lazy", "t.conf: stage_start = lazy: allowed: barrier|eager")]
    [InlineData("quorum = 0.5", "t.conf: quorum = 0.5: only stage_start = eager reads it; remove it or set stage_start = eager")]
    [InlineData("stage_start = eager\nquorum = 0", "t.conf: quorum = 0: allowed: a fraction in (0, 1], e.g. 0.75 (the share of a stage that must finish before the next is planned)")]
    public void Bad_adaptive_settings_get_one_line_naming_the_key_and_the_fix(string extra, string message)
    {
        Assert.Equal(message, ErrorOf(extra));
    }

    [Fact]
    public void A_stage_pruning_rule_is_checked_like_the_global_one()
    {
        Assert.Equal("t.conf: stages[1].pruning.rule = successive_halving: pauses trials at rungs and resumes them from their checkpoints, but checkpoints.every = 0 keeps none; set checkpoints.every = 1",
            ErrorOf("checkpoints { every = 0 }", "stages = [ { count = 4, epochs = 3 }, { count = 2, epochs = 3, pruning { rule = successive_halving } } ]"));
        Assert.Equal("t.conf: stages[0].pruning.rule = halving: allowed: none|median|successive_halving|asha",
            ErrorOf("", "stages = [ { count = 4, epochs = 3, pruning { rule = halving } } ]"));
    }

    [Fact]
    public void Successive_halving_and_asha_read_min_epochs_and_the_reduction_factor()
    {
        var sh = Parse("pruning { rule = successive_halving, min_epochs = 2, reduction_factor = 2 }").Pruning!;
        Assert.Equal(new PruningSpec(PruningRule.SuccessiveHalving, MinEpochs: 2, ReductionFactor: 2), sh);
        Assert.Equal([2, 4, 8], sh.RungEpochs(9).ToArray());
        var asha = Parse("pruning { rule = asha }").Pruning!;
        Assert.Equal((PruningRule.Asha, 1, PruningSpec.DefaultReductionFactor), (asha.Rule, asha.MinEpochs, asha.ReductionFactor));
        Assert.Equal([1, 3], asha.RungEpochs(9).ToArray());
        Assert.Equal([1, 3, 9], asha.RungEpochs(10).ToArray());
        Assert.Empty(asha.RungEpochs(1));
        Assert.Empty(new PruningSpec(PruningRule.Median).RungEpochs(9));
        // The reduction factor joins the journal form only for the two rules that read it.
        Assert.Contains("\"reduction_factor\":3", SweepJson.Serialize(Parse("pruning { rule = asha }")));
        Assert.DoesNotContain("reduction_factor", SweepJson.Serialize(Parse("pruning { rule = median }")));
    }

    [Fact]
    public void The_settings_round_trip_through_the_journal_form_and_stay_out_of_it_when_unset()
    {
        var spec = Parse("sampler = tpe\ntpe { n_startup_trials = 6 }\npruning { rule = median }\nstage_start = eager\nquorum = 0.6",
            "stages = [ { count = 4, epochs = 3 }, { count = 2, epochs = 3, pruning { rule = none } } ]");
        var json = SweepJson.Serialize(spec);
        Assert.Equal(spec, SweepJson.Deserialize<SweepSpec>(json));
        Assert.Equal(spec.Fingerprint, SweepJson.Deserialize<SweepSpec>(json).Fingerprint);
        foreach (var key in new[] { "\"tpe\":", "\"pruning\":", "\"stage_start\":{\"mode\":\"eager\",\"quorum\":0.6}", "\"rule\":\"median\"" })
            Assert.Contains(key, json);
        var plain = SweepJson.Serialize(Parse(""));
        foreach (var key in new[] { "tpe", "pruning", "stage_start", "quorum" })
            Assert.DoesNotContain("\"" + key + "\"", plain);
    }
}
