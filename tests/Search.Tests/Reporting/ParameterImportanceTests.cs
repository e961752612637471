using Sweep.Search.Reporting;
using Sweep.Search.Spaces;

namespace Sweep.Search.Tests.Reporting;

public class ParameterImportanceTests
{
    private static readonly Dimension[] Space = [
        new FloatRange("learning_rate", 1e-5, 1e-1, log: true),
        new FloatRange("dropout", 0, 0.5),
        new Choice("normalization", [ParamValue.Of("batchnorm"), ParamValue.Of("groupnorm")]),
    ];

    /// <summary>Seeded trials whose objective depends on <paramref name="objective"/> of (log10 lr, dropout, norm index).</summary>
    private static List<(TrialConfig, double)> Trials(int count, Func<double, double, int, double> objective, int seed = 1)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var logLr = -5 + 4 * random.NextDouble();
            var dropout = 0.5 * random.NextDouble();
            var norm = random.Next(2);
            var config = TrialConfig.From(
                ("learning_rate", ParamValue.Of(Math.Pow(10, logLr))), ("dropout", ParamValue.Of(dropout)),
                ("normalization", ParamValue.Of(norm == 0 ? "batchnorm" : "groupnorm")));
            return (config, objective(logLr, dropout, norm) + 0.01 * random.NextDouble());
        })];
    }

    [Fact]
    public void The_parameter_that_drives_the_objective_gets_nearly_all_the_importance()
    {
        var result = ParameterImportance.Compute(Trials(60, (lr, _, _) => -Math.Abs(lr + 3)), Space);
        Assert.True(result.IsAvailable);
        Assert.Equal("learning_rate", result.Effects[0].Name);
        Assert.True(result.Effects[0].Share > 0.9, $"learning_rate share {result.Effects[0].Share}");
        Assert.True(result.Effects[0].Explained > 0.7, $"learning_rate explains {result.Effects[0].Explained}");
        Assert.Equal(1.0, result.Effects.Sum(e => e.Share), 6);
    }

    [Fact]
    public void A_choice_that_drives_the_objective_is_found_through_its_groups()
    {
        var result = ParameterImportance.Compute(Trials(100, (_, _, norm) => 0.3 + 0.1 * norm), Space);
        Assert.Equal("normalization", result.Effects[0].Name);
        Assert.True(result.Effects[0].Share > 0.9, string.Join(", ", result.Effects.Select(e => $"{e.Name} {e.Share:0.000} ({e.Explained:0.000})")));
    }

    [Fact]
    public void Pure_noise_explains_little()
    {
        var random = new Random(9);
        var result = ParameterImportance.Compute(Trials(60, (_, _, _) => random.NextDouble()), Space);
        Assert.All(result.Effects, e => Assert.True(e.Explained < 0.15, $"{e.Name} explains {e.Explained} of noise"));
    }

    [Fact]
    public void Too_few_trials_or_no_spread_give_a_message_instead()
    {
        var few = ParameterImportance.Compute(Trials(ParameterImportance.MinimumTrials - 1, (lr, _, _) => lr), Space);
        Assert.False(few.IsAvailable);
        Assert.Equal("parameter importance needs at least 8 completed trials; this sweep has 7 so far", few.Message);
        var flat = ParameterImportance.Compute(Trials(20, (_, _, _) => 0.5).Select(t => (t.Item1, 0.5)).ToList(), Space);
        Assert.False(flat.IsAvailable);
        Assert.Contains("reached the same val accuracy", flat.Message);
    }
}
