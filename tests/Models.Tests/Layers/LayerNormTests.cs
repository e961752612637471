using Sweep.Models.Layers;
using Sweep.Models.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using static Sweep.Models.Tests.Support.GradientCheck;

namespace Sweep.Models.Tests.Layers;

public class LayerNormTests
{
    [Fact]
    public void Digest6_layernorm_backward_matches_numeric_gradient_within_1e_7()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var x = Randn(g, 5, 12, 4, 5);
        var gamma = Randn(g, 1, 0, 5);
        var beta = Randn(g, 1, 0, 5);
        var dout = randn(4, 5, dtype: ScalarType.Float64, generator: g);
        Tensor F() => NormalizationOps.LayerNorm(x, gamma, beta);

        var analytic = Analytic(F, dout, x, gamma, beta);
        // docs/seed-formulas.md §6: layernorm backward 1e-12..1e-8 (seeds dx 1.4e-9, dgamma 4.5e-12, dbeta 2.3e-12).
        Close.Within(1e-7, analytic[0], NumericArray(F, x, dout), "dx");
        Close.Within(1e-8, analytic[1], NumericArray(F, gamma, dout), "dgamma");
        Close.Within(1e-8, analytic[2], NumericArray(F, beta, dout), "dbeta");
    }

    [Fact]
    public void Backward_matches_torch_autograd_of_the_formula_and_forward_matches_torch_layer_norm()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var x = Randn(g, 3, 2, 20, 30);
        var gamma = Randn(g, 1, 1, 30);
        var beta = Randn(g, 1, 0, 30);
        var dout = randn(20, 30, dtype: ScalarType.Float64, generator: g);

        var ours = Analytic(() => NormalizationOps.LayerNorm(x, gamma, beta), dout, x, gamma, beta);
        var graph = Analytic(() => ReferenceLayers.LayerNorm(x, gamma, beta), dout, x, gamma, beta);
        for (var i = 0; i < 3; i++)
            Close.Within(1e-9, ours[i], graph[i], $"gradient {i}");

        var torchs = nn.functional.layer_norm(x, [30], gamma, beta, 1e-5);
        Close.Within(1e-10, NormalizationOps.LayerNorm(x, gamma, beta), torchs, "NormalizationOps.LayerNorm(x, gamma, beta)");
    }

    [Fact]
    public void Digest7_2_layernorm_normalizes_each_row_and_is_the_same_in_train_and_test_mode()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var w1 = randn([50, 60], dtype: ScalarType.Float64, generator: g);
        var w2 = randn([60, 3], dtype: ScalarType.Float64, generator: g);
        var a = nn.functional.relu(randn([4, 50], dtype: ScalarType.Float64, generator: g).matmul(w1)).matmul(w2);

        var ln = new LayerNorm(3, dtype: ScalarType.Float64);
        Assert.Empty(ln.named_buffers());
        var output = ln.forward(a);
        Assert.True(output.mean([1L]).abs().max().item<double>() < 1e-12);
        Assert.True((output.std([1L], unbiased: false) - 1).abs().max().item<double>() < 1e-5);

        using (no_grad())
        {
            ln.Gamma.fill_(3);
            ln.Beta.fill_(5);
        }
        var train = ln.forward(a);
        ln.eval();
        var test = ln.forward(a);
        Assert.True((train.mean([1L]) - 5).abs().max().item<double>() < 1e-10);
        Assert.True((train.std([1L], unbiased: false) - 3).abs().max().item<double>() < 1e-4);
        Assert.Equal(0.0, (train - test).abs().max().item<double>());
    }
}
