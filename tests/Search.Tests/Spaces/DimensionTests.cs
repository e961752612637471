using MathNet.Numerics.Statistics;
using Sweep.Search.Sampling;
using Sweep.Search.Spaces;

namespace Sweep.Search.Tests.Spaces;

public class DimensionTests
{
    [Theory]
    [InlineData(0.1, 0.1, false, "low (0.1) must be below high (0.1)")]
    [InlineData(0.5, 0.1, false, "low (0.5) must be below high (0.1)")]
    [InlineData(0.0, 0.1, true, "a log range needs low > 0")]
    [InlineData(-1.0, 0.1, true, "a log range needs low > 0")]
    public void Invalid_float_ranges_name_the_problem(double low, double high, bool log, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => new FloatRange("learning_rate", low, high, log));
        Assert.StartsWith("learning_rate: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Invalid_int_ranges_and_choices_are_rejected()
    {
        Assert.Contains("must be below", Assert.Throws<ArgumentException>(() => new IntRange("batch_size", 10, 10)).Message);
        Assert.Contains("log range needs low > 0", Assert.Throws<ArgumentException>(() => new IntRange("batch_size", 0, 10, log: true)).Message);
        Assert.Contains("at least one value", Assert.Throws<ArgumentException>(() => new Choice("update_rule", [])).Message);
        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() => new Choice("update_rule", [ParamValue.Of("adam"), ParamValue.Of("adam")])).Message);
        Assert.Contains("defined twice", Assert.Throws<ArgumentException>(() => new SearchSpace([new Fixed("a", 1), new Fixed("a", 2)])).Message);
    }

    [Fact]
    public void Log_uniform_samples_are_uniform_in_log_space()
    {
        var range = new FloatRange("learning_rate", 1e-5, 1e-1, log: true);
        var random = SeedDerivation.StageRandom(1, 1);
        var logs = Enumerable.Range(0, 4000).Select(_ => Math.Log10(range.Sample(random).AsDouble())).ToArray();
        Assert.All(logs, l => Assert.InRange(l, -5.0, -1.0));
        // Uniform on [-5, -1] in log10: each quarter holds about a quarter of the samples (a linear sampler would put ~90% in the top one).
        for (var q = 0; q < 4; q++)
            Assert.InRange(logs.Count(l => l >= -5 + q && l < -4 + q) / 4000.0, 0.21, 0.29);
        Assert.InRange(logs.Mean(), -3.1, -2.9);
    }

    [Fact]
    public void Linear_and_int_samples_cover_their_range_inclusively()
    {
        var random = SeedDerivation.StageRandom(2, 1);
        var ints = new IntRange("batch_size", 1, 4);
        var seen = Enumerable.Range(0, 400).Select(_ => ints.Sample(random).AsInt()).ToHashSet();
        Assert.Equal([1, 2, 3, 4], seen.Order());
        var logInts = new IntRange("num_filters", 8, 64, log: true);
        Assert.All(Enumerable.Range(0, 400).Select(_ => logInts.Sample(random)), v => Assert.True(logInts.Contains(v)));
        var dropout = new FloatRange("dropout", 0.0, 0.5);
        var values = Enumerable.Range(0, 2000).Select(_ => dropout.Sample(random).AsDouble()).ToArray();
        Assert.All(values, v => Assert.InRange(v, 0.0, 0.5));
        Assert.InRange(values.Mean(), 0.23, 0.27);
    }

    [Fact]
    public void Sampled_floats_are_rounded_to_four_significant_digits()
    {
        var random = SeedDerivation.StageRandom(3, 1);
        var range = new FloatRange("learning_rate", 1e-5, 1e-1, log: true);
        foreach (var value in Enumerable.Range(0, 100).Select(_ => range.Sample(random).AsDouble()))
        {
            var mantissa = value / Math.Pow(10, Math.Floor(Math.Log10(value)) - 3);
            Assert.Equal(Math.Round(mantissa), mantissa, 6);
        }
    }

    [Fact]
    public void Grid_values_are_evenly_spaced_in_log_space_for_log_ranges()
    {
        Assert.Equal([1e-4, 1e-3, 1e-2], new FloatRange("learning_rate", 1e-4, 1e-2, log: true).GridValues(3).Select(v => v.AsDouble()));
        Assert.Equal([0.0, 0.25, 0.5], new FloatRange("dropout", 0, 0.5).GridValues(3).Select(v => v.AsDouble()));
        Assert.Equal([1, 3, 5], new IntRange("filter_size", 1, 5).GridValues(3).Select(v => v.AsInt()));
        var space = new SearchSpace([new FloatRange("dropout", 0, 0.5), new Choice("update_rule", [ParamValue.Of("adam"), ParamValue.Of("sgd")]), new Fixed("reg", 0.0)]);
        var grid = space.Grid(3);
        Assert.Equal(6, grid.Length);
        Assert.Equal(6, space.GridSize(3));
        Assert.Equal(6, grid.Select(c => c.Key).Distinct().Count());
        Assert.All(grid, c => Assert.True(space.Contains(c)));
    }

    [Fact]
    public void Narrowing_spans_the_top_values_plus_margin_in_log_space()
    {
        var range = new FloatRange("learning_rate", 1e-5, 1e-1, log: true);
        var narrowed = Assert.IsType<FloatRange>(range.NarrowAround([ParamValue.Of(1e-3), ParamValue.Of(1e-2)], 0.25));
        // Parent width is 4 decades; a 0.25 margin adds one decade on each side, clipped at 1e-1.
        Assert.Equal(1e-4, narrowed.Low, 12);
        Assert.Equal(1e-1, narrowed.High, 12);
        Assert.True(narrowed.Log);
        var linear = Assert.IsType<FloatRange>(new FloatRange("dropout", 0, 1.0).NarrowAround([ParamValue.Of(0.4), ParamValue.Of(0.5)], 0.1));
        Assert.Equal(0.3, linear.Low, 12);
        Assert.Equal(0.6, linear.High, 12);
        var choice = new Choice("update_rule", [ParamValue.Of("adam"), ParamValue.Of("sgd"), ParamValue.Of("rmsprop")]);
        var kept = Assert.IsType<Choice>(choice.NarrowAround([ParamValue.Of("rmsprop"), ParamValue.Of("adam")], 0.1));
        Assert.Equal(["adam", "rmsprop"], kept.Values.Select(v => v.AsString()));
        Assert.IsType<Fixed>(range.NarrowAround([ParamValue.Of(1e-3)], 0.0));
        Assert.Same(range, range.NarrowAround([], 0.1));
    }
}
