using System.Collections.Immutable;
using System.Globalization;
using Sweep.Search.Engine;
using Sweep.Search.Parameters;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;
using Sweep.Worker.Training;

namespace Sweep.Worker.Tests.Training;

/// <summary>
/// Walks the parameter table: every (family, parameter, value) it allows is accepted by the spec loader and mapped by
/// the worker to the same value; every pair it rules out is rejected when the spec is loaded (plan time), in one line
/// naming the parameter, and by the worker too.
/// </summary>
public sealed class ParameterTableTests
{
    /// <summary>Parameters a spec fixes or searches (the others are set per stage, or derived).</summary>
    private static readonly ParameterSection[] SpecSections = [ParameterSection.Model, ParameterSection.Training];

    public static TheoryData<string, string, string> AllowedTriples()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var parameter in TrialParameters.All.Where(p => p.Section != ParameterSection.Family))
            foreach (var rule in parameter.Rules)
                foreach (var family in rule.Families)
                    foreach (var value in rule.Domain.Examples())
                        data.Add(family, parameter.Name, Hocon(value));
        return data;
    }

    public static TheoryData<string, string, string> RuledOutTriples()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var parameter in TrialParameters.All.Where(p => SpecSections.Contains(p.Section)))
        {
            // Every value some family allows, plus values just outside each rule, tried on every family.
            var candidates = parameter.Rules.SelectMany(r => r.Domain.Examples()).Concat(parameter.Rules.SelectMany(r => Outside(r.Domain)))
                .Distinct().ToList();
            foreach (var family in ModelFamilies.All)
                foreach (var value in candidates)
                    if (!parameter.AppliesTo(family) || parameter.RuleFor(family).Domain.Normalize(value) is null)
                        data.Add(family, parameter.Name, Hocon(value));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllowedTriples))]
    public void Every_allowed_triple_is_accepted_by_the_spec_loader_and_mapped_by_the_worker_to_the_same_value(string family, string name, string value)
    {
        var parameter = TrialParameters.Find(name)!;
        var expected = parameter.Check(family, Literal(value));
        TrialConfig config;
        if (SpecSections.Contains(parameter.Section))
        {
            var spec = SweepSpecLoader.Parse(Spec(family, parameter, value), "walk.conf", _ => null);
            var trial = FirstTrial(spec);
            config = trial.Params;
            Assert.Equal(expected, config[name]);
        }
        else
        {
            // Budget and seed reach the worker beside the sampled values, as the trial's budget and seed.
            config = TrialConfig.From((TrialParameters.Model.Name, ParamValue.Of(family)), (name, expected));
        }

        var settings = TrialSettings.From(config, defaultSeed: 3);

        Assert.Equal(family, settings.ModelFamily);
        Assert.Equal(expected, parameter.ValueIn(config, family));
        Assert.Equal(Mapped(parameter, expected), Read(settings, name));
    }

    [Theory]
    [MemberData(nameof(RuledOutTriples))]
    public void Every_ruled_out_pair_is_rejected_at_plan_time_in_one_line_naming_the_parameter(string family, string name, string value)
    {
        var parameter = TrialParameters.Find(name)!;
        var error = Assert.Throws<SweepSpecException>(() => SweepSpecLoader.Parse(Spec(family, parameter, value), "walk.conf", _ => null));
        Assert.Contains(name, error.Message);
        Assert.DoesNotContain('\n', error.Message);

        // A config that reaches a worker anyway fails there for good, naming the parameter.
        var config = TrialConfig.From((TrialParameters.Model.Name, ParamValue.Of(family)), (name, Literal(value)));
        var failure = Assert.Throws<TrialParameterException>(() => TrialSettings.From(config));
        Assert.Equal(name, failure.Parameter);
    }

    [Fact]
    public void The_walk_covers_every_family_and_parameter_and_rules_out_groupnorm_on_fc()
    {
        var allowed = AllowedTriples().Select(row => ((string)row[0], (string)row[1])).ToHashSet();
        foreach (var parameter in TrialParameters.All.Where(p => p.Section != ParameterSection.Family))
            foreach (var family in parameter.Families)
                Assert.Contains((family, parameter.Name), allowed);
        var ruledOut = RuledOutTriples().Select(row => ((string)row[0], (string)row[1], (string)row[2])).ToList();
        Assert.Contains(("fc", "normalization", "groupnorm"), ruledOut);
        Assert.Contains(("fc", "groups", "1"), ruledOut);
        Assert.Contains(("fc", "weight_scale", "kaiming"), ruledOut);
        Assert.Contains(("convnet", "normalization", "layernorm"), ruledOut);
        Assert.Contains(("three_layer_convnet", "normalization", "none"), ruledOut);
    }

    private static IEnumerable<ParamValue> Outside(ValueDomain domain) => domain switch
    {
        FloatDomain f when !double.IsNegativeInfinity(f.Min) => [ParamValue.Of(f.MinOpen ? f.Min : f.Min - 1)],
        IntDomain i when i.Min > int.MinValue => [ParamValue.Of((int)i.Min - 1)],
        ChoiceDomain => [ParamValue.Of("no_such_choice")],
        IntListDomain l => l.AllowEmpty ? [ParamValue.Of([0])] : [ParamValue.Of([]), ParamValue.Of([0])],
        _ => [],
    };

    /// <summary>A minimal spec fixing <paramref name="parameter"/> (in its section) to <paramref name="value"/>.</summary>
    private static string Spec(string family, TrialParameter parameter, string value)
    {
        var model = new List<string> { $"family = {family}" };
        var training = new List<string>();
        if (parameter.Section == ParameterSection.Model || !parameter.AppliesTo(family))
            model.Add($"{parameter.Name} = {value}");
        else
            training.Add($"{parameter.Name} = {value}");
        // Structural parameters the loader requires, unless the one under test is it.
        if (family == ModelFamilies.Fc && parameter != TrialParameters.HiddenDims)
            model.Add("hidden_dims = [20]");
        if (family == ModelFamilies.ConvNet && parameter != TrialParameters.ConvChannels)
            model.Add("conv_channels = [4, 8, 8, 8]");
        if (family == ModelFamilies.ConvNet && parameter == TrialParameters.ConvChannels)
            model.Add("pool_after = [1]");
        if (parameter == TrialParameters.Normalization && value == "groupnorm")
            model.Add("groups = 2");
        var searched = parameter == TrialParameters.LrDecay ? "momentum" : "lr_decay";
        return $$"""
            name = walk
            seed = 5
            data { directory = "data", num_train = 200, num_val = 100 }
            model { {{string.Join("\n", model)}} }
            training { {{string.Join("\n", training)}} }
            space { {{searched}} { type = float, low = 0.5, high = 0.9 } }
            stages = [ { count = 1, epochs = 1, num_train = 200 } ]
            """;
    }

    private static TrialSpec FirstTrial(SweepSpec spec)
    {
        var started = new SweepEngine().Start(spec).OfType<StageStarted>().Single();
        return started.Trials[0];
    }

    /// <summary>The value as HOCON (and as `sweep train` reads it back): lists in brackets, numbers round-tripping.</summary>
    private static string Hocon(ParamValue value) => value.Kind switch
    {
        ParamKind.IntList => "[" + string.Join(", ", value.AsIntList()) + "]",
        ParamKind.Float => value.AsDouble().ToString("R", CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static ParamValue Literal(string text) => text.StartsWith('[') ? new IntListDomain(true).Parse(text) : ParamValue.Parse(text);

    /// <summary>What the worker's settings hold for a table value: keywords read as "derived" (null).</summary>
    private static object? Mapped(TrialParameter parameter, ParamValue value) => value.Kind switch
    {
        ParamKind.String when parameter.Rules.Any(r => r.Domain is FloatDomain) => null,
        ParamKind.String => value.AsString(),
        ParamKind.IntList => string.Join(",", value.AsIntList()),
        _ => value.AsDouble(),
    };

    /// <summary>The mapped setting for one parameter, read back from the model spec, solver options or data split.</summary>
    private static object? Read(TrialSettings settings, string name)
    {
        static string List(IEnumerable<int> values) => string.Join(",", values);
        var model = settings.Model;
        return name switch
        {
            "hidden_dims" => model switch { Models.Networks.FullyConnectedNetSpec fc => List(fc.HiddenDims), Models.Networks.ConvNetSpec cnn => List(cnn.HiddenDims), _ => null },
            "num_filters" => (double)((Models.Networks.ThreeLayerConvNetSpec)model).NumFilters,
            "filter_size" => (double)((Models.Networks.ThreeLayerConvNetSpec)model).FilterSize,
            "hidden_dim" => (double)((Models.Networks.ThreeLayerConvNetSpec)model).HiddenDim,
            "conv_channels" => List(((Models.Networks.ConvNetSpec)model).ConvChannels),
            "pool_after" => List(((Models.Networks.ConvNetSpec)model).PoolAfter),
            "normalization" => (model switch
            {
                Models.Networks.FullyConnectedNetSpec fc => fc.Normalization,
                Models.Networks.ConvNetSpec cnn => cnn.Normalization,
                _ => throw new InvalidOperationException(),
            }).ToString().ToLowerInvariant(),
            "groups" => (double)((Models.Networks.ConvNetSpec)model).Groups,
            "dropout" => model switch { Models.Networks.FullyConnectedNetSpec fc => fc.Dropout, Models.Networks.ConvNetSpec cnn => cnn.Dropout, _ => null },
            "weight_scale" => model switch
            {
                Models.Networks.FullyConnectedNetSpec fc => fc.WeightScale,
                Models.Networks.ThreeLayerConvNetSpec tlc => tlc.WeightScale,
                Models.Networks.ConvNetSpec cnn => cnn.WeightScale,
                _ => null,
            },
            "reg" => model.Reg,
            "update_rule" => Models.Training.Optim.UpdateRule.Name(settings.Solver.UpdateRule),
            "learning_rate" => settings.Solver.LearningRate,
            "momentum" => settings.Solver.Momentum,
            "lr_decay" => settings.Solver.LrDecay,
            "batch_size" => (double)settings.Solver.BatchSize,
            "data_normalization" => settings.Data.Normalization == Models.Data.CifarNormalization.PerChannel ? "per_channel" : "mean_image",
            "epochs" => (double)settings.Solver.Epochs,
            "num_train" => (double?)settings.Data.NumTrain,
            "seed" => (double)settings.Seed,
            _ => throw new ArgumentException($"the walk does not know how to read '{name}' back; add it here"),
        };
    }
}
