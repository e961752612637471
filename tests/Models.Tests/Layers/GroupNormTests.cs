using Sweep.Models.Layers;
using Sweep.Models.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using static Sweep.Models.Tests.Support.GradientCheck;

namespace Sweep.Models.Tests.Layers;

public class GroupNormTests
{
    [Fact]
    public void Digest6_spatial_groupnorm_backward_matches_numeric_gradient()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        // docs/seed-formulas.md §6 setup: (2, 6, 4, 5), G = 2; quoted 1e-12..1e-7 (seeds 7.4e-8 / 6.3e-8). dx is held to 1e-6:
        // at h = 1e-5 the rounding noise of the differences is ~1e-10 absolute, which is 1e-7..4e-7 relative on
        // the smallest dx entries (~2e-4) of this draw, for the plain-ops formula as much as for ours; the
        // exact check is the 1e-9 agreement with TorchSharp's autograd below.
        var x = Randn(g, 4, 10, 2, 6, 4, 5);
        var gamma = Randn(g, 1, 0, 6);
        var beta = Randn(g, 1, 0, 6);
        var dout = randn([2, 6, 4, 5], dtype: ScalarType.Float64, generator: g);
        Tensor F() => NormalizationOps.SpatialGroupNorm(x, gamma, beta, 2);

        var analytic = Analytic(F, dout, x, gamma, beta);
        Close.Within(1e-6, analytic[0], NumericArray(F, x, dout), "dx");
        Close.Within(1e-8, analytic[1], NumericArray(F, gamma, dout), "dgamma");
        Close.Within(1e-8, analytic[2], NumericArray(F, beta, dout), "dbeta");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(6)]
    public void Backward_matches_torch_autograd_and_forward_matches_torch_group_norm(int groups)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(17);
        var x = Randn(g, 2, 3, 3, 6, 5, 4);
        var gamma = Randn(g, 1, 1, 6);
        var beta = Randn(g, 1, 0, 6);
        var dout = randn([3, 6, 5, 4], dtype: ScalarType.Float64, generator: g);

        var ours = Analytic(() => NormalizationOps.SpatialGroupNorm(x, gamma, beta, groups), dout, x, gamma, beta);
        var graph = Analytic(() => ReferenceLayers.GroupNorm(x, gamma, beta, groups), dout, x, gamma, beta);
        for (var i = 0; i < 3; i++)
            Close.Within(1e-9, ours[i], graph[i], $"gradient {i}");

        var torchs = nn.functional.group_norm(x, groups, gamma, beta, 1e-5);
        Close.Within(1e-10, NormalizationOps.SpatialGroupNorm(x, gamma, beta, groups), torchs, "NormalizationOps.SpatialGroupNorm(x, gamma, beta, groups)");
    }

    [Fact]
    public void Digest7_2_spatial_groupnorm_normalizes_each_sample_group()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var x = (randn([2, 6, 4, 5], dtype: ScalarType.Float64, generator: g) * 4) + 10;
        var gn = new SpatialGroupNorm(2, 6, dtype: ScalarType.Float64);
        Assert.Empty(gn.named_buffers());
        var rows = gn.forward(x).reshape(4, -1); // rows of x reshaped to (N*G, -1)
        Assert.True(rows.mean([1L]).abs().max().item<double>() < 1e-12);
        Assert.True((rows.std([1L], unbiased: false) - 1).abs().max().item<double>() < 1e-5);
    }

    [Fact]
    public void Groups_that_do_not_divide_the_channels_are_rejected_clearly()
    {
        var error = Assert.Throws<ArgumentException>(() => new SpatialGroupNorm(4, 6));
        Assert.Contains("do not divide", error.Message);
    }
}
