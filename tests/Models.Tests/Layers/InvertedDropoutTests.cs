using Sweep.Models.Layers;
using Sweep.Models.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using static Sweep.Models.Tests.Support.GradientCheck;

namespace Sweep.Models.Tests.Layers;

public class InvertedDropoutTests
{
    [Theory]
    [InlineData(0.3)]
    [InlineData(0.6)]
    [InlineData(0.75)]
    public void Digest7_2_drop_probability_p_zeroes_about_p_and_preserves_the_mean(double p)
    {
        using var scope = NewDisposeScope();
        var x = (randn([500, 500], dtype: ScalarType.Float64, generator: new Generator(231))) + 10;
        var dropout = new InvertedDropout(p, new Generator(1));
        var train = dropout.forward(x);
        var zeroFraction = train.eq(0).to_type(ScalarType.Float64).mean().item<double>();
        // ECE seeds: 0.3002 / 0.6003 / 0.7503 zeros, train mean ~10.00; 250k draws give std ~0.001.
        Assert.InRange(zeroFraction, p - 0.005, p + 0.005);
        Assert.InRange(train.mean().item<double>(), 9.9, 10.1);

        dropout.eval();
        var test = dropout.forward(x);
        Assert.Equal(0.0, (test - x).abs().max().item<double>());
    }

    [Fact]
    public void Cs231n_keep_ratio_converts_to_drop_probability()
    {
        Assert.Equal(0.75, InvertedDropout.FromKeepRatio(0.25));
        using var scope = NewDisposeScope();
        var x = ones([400, 400], dtype: ScalarType.Float64);
        var output = new InvertedDropout(InvertedDropout.FromKeepRatio(0.25), new Generator(2)).forward(x);
        // CS231n keep 0.25: 74.98% zeros and survivors scaled by 1/keep.
        Assert.InRange(output.eq(0).to_type(ScalarType.Float64).mean().item<double>(), 0.74, 0.76);
        Assert.Equal(4.0, output.max().item<double>(), 12);
    }

    [Fact]
    public void Digest6_dropout_backward_matches_numeric_gradient_with_a_reseeded_generator()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(123);
        var x = Randn(g, 1, 10, 10, 10);
        var dout = randn([10, 10], dtype: ScalarType.Float64, generator: g);
        var generator = new Generator(123);
        // The seeds re-seed the RNG on every forward call so the mask is fixed (docs/seed-formulas.md §2).
        Tensor F()
        {
            generator.manual_seed(123);
            return NormalizationOps.InvertedDropout(x, 0.2, generator);
        }
        var analytic = Analytic(F, dout, x)[0];
        // docs/seed-formulas.md §6: dropout backward ~1e-10 or less.
        Close.Within(1e-10, analytic, NumericArray(F, x, dout), "analytic");
        using (no_grad())
            Close.Within(1e-12, analytic, F().div(x).mul(dout), "analytic"); // dx = dout * mask
    }

    [Fact]
    public void Same_generator_seed_gives_the_same_mask_and_different_seeds_differ()
    {
        using var scope = NewDisposeScope();
        var x = ones(1000, dtype: ScalarType.Float64);
        var a = NormalizationOps.InvertedDropout(x, 0.5, new Generator(42));
        var b = NormalizationOps.InvertedDropout(x, 0.5, new Generator(42));
        var c = NormalizationOps.InvertedDropout(x, 0.5, new Generator(43));
        Assert.Equal(0.0, (a - b).abs().max().item<double>());
        Assert.NotEqual(0.0, (a - c).abs().max().item<double>());
    }

    [Fact]
    public void Invalid_drop_probability_is_rejected_with_the_fix()
    {
        var error = Assert.Throws<ArgumentException>(() => new InvertedDropout(1.0, new Generator(1)));
        Assert.Contains("1 - k", error.Message);
    }
}
