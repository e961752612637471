using Sweep.Models.Layers;
using Sweep.Models.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using static Sweep.Models.Tests.Support.GradientCheck;

namespace Sweep.Models.Tests.Layers;

public class BatchNormTests
{
    private const double Eps = 1e-5;

    private static Tensor Train(Tensor x, Tensor gamma, Tensor beta) =>
        NormalizationOps.BatchNormTrain(x, gamma, beta, Eps, out _, out _);

    [Fact]
    public void Digest6_batchnorm_backward_matches_numeric_gradient_within_1e_7()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var x = Randn(g, 5, 12, 4, 5);
        var gamma = Randn(g, 1, 0, 5);
        var beta = Randn(g, 1, 0, 5);
        var dout = randn(4, 5, dtype: ScalarType.Float64, generator: g);

        var analytic = Analytic(() => Train(x, gamma, beta), dout, x, gamma, beta);
        Close.Within(1e-7, analytic[0], NumericArray(() => Train(x, gamma, beta), x, dout), "dx");
        Close.Within(1e-7, analytic[1], NumericArray(() => Train(x, gamma, beta), gamma, dout), "dgamma");
        Close.Within(1e-7, analytic[2], NumericArray(() => Train(x, gamma, beta), beta, dout), "dbeta");
    }

    [Fact]
    public void Digest2_alternative_backward_matches_torch_autograd_of_the_graph_formula()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        var x = Randn(g, 3, -2, 50, 40);
        var gamma = Randn(g, 1, 1, 40);
        var beta = Randn(g, 1, 0, 40);
        var dout = randn(50, 40, dtype: ScalarType.Float64, generator: g);

        var ours = Analytic(() => Train(x, gamma, beta), dout, x, gamma, beta);
        var graph = Analytic(() => ReferenceLayers.BatchNorm(x, gamma, beta), dout, x, gamma, beta);
        // docs/seed-formulas.md §2: alt vs graph dx 2.5e-11, dgamma and dbeta 0.
        Close.Within(1e-9, ours[0], graph[0], "dx");
        Close.Within(1e-12, ours[1], graph[1], "dgamma");
        Close.Within(1e-12, ours[2], graph[2], "dbeta");
    }

    [Fact]
    public void Digest6_spatial_batchnorm_backward_matches_numeric_gradient_within_1e_6()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var x = Randn(g, 4, 10, 2, 3, 4, 5);
        var gamma = Randn(g, 1, 0, 3);
        var beta = Randn(g, 1, 0, 3);
        var dout = randn([2, 3, 4, 5], dtype: ScalarType.Float64, generator: g);

        var analytic = Analytic(() => Train(x, gamma, beta), dout, x, gamma, beta);
        // docs/seed-formulas.md §6: spatial BN backward within 1e-12..1e-6 (seeds: dx ~2.8e-7, dgamma ~1e-11, dbeta 3.3e-12).
        Close.Within(1e-6, analytic[0], NumericArray(() => Train(x, gamma, beta), x, dout), "dx");
        Close.Within(1e-8, analytic[1], NumericArray(() => Train(x, gamma, beta), gamma, dout), "dgamma");
        Close.Within(1e-8, analytic[2], NumericArray(() => Train(x, gamma, beta), beta, dout), "dbeta");

        var graph = Analytic(() => ReferenceLayers.BatchNorm(x, gamma, beta), dout, x, gamma, beta);
        for (var i = 0; i < 3; i++)
            Close.Within(1e-9, analytic[i], graph[i], $"gradient {i}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Forward_matches_torch_batch_norm_in_training_mode(int rank)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        long[] shape = rank == 2 ? [16, 6] : [4, 6, 5, 3];
        var x = Randn(g, 3, 1, shape);
        var gamma = Randn(g, 1, 1, 6);
        var beta = Randn(g, 1, 0, 6);
        var ours = Train(x, gamma, beta);
        var torchs = nn.functional.batch_norm(x, null, null, gamma, beta, training: true, eps: Eps);
        Close.Within(1e-10, ours, torchs, "ours");
    }

    [Fact]
    public void Digest2_running_statistics_start_at_zero_and_keep_momentum_of_the_old_value_with_biased_variance()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var bn = new BatchNorm(4, dtype: ScalarType.Float64);
        Assert.Equal(0.0, bn.RunningMean.abs().sum().item<double>());
        Assert.Equal(0.0, bn.RunningVariance.abs().sum().item<double>());
        Assert.Equal(["running_mean", "running_var"], bn.named_buffers().Select(b => b.name).Order());
        Assert.Equal(["bias", "weight"], bn.named_parameters().Select(p => p.name).Order());

        var x1 = Randn(g, 2, 5, 10, 4).detach();
        var x2 = Randn(g, 3, -1, 10, 4).detach();
        bn.forward(x1);
        bn.forward(x2);
        var expectedMean = (x1.mean([0L]) * 0.1 * 0.9) + (x2.mean([0L]) * 0.1);
        var expectedVar = (x1.var([0L], unbiased: false) * 0.1 * 0.9) + (x2.var([0L], unbiased: false) * 0.1);
        Close.Within(1e-12, bn.RunningMean, expectedMean, "bn.RunningMean");
        Close.Within(1e-12, bn.RunningVariance, expectedVar, "bn.RunningVariance");

        bn.eval();
        var test = bn.forward(x1);
        var expectedTest = (x1 - expectedMean) / (expectedVar + Eps).sqrt();
        Close.Within(1e-12, test, expectedTest, "test");
        Close.Within(1e-15, bn.RunningMean, expectedMean, "bn.RunningMean"); // test mode leaves the statistics alone
    }

    [Fact]
    public void Digest7_2_batchnorm_train_forward_normalizes_and_respects_gamma_beta()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        // a = ReLU(X W1) W2 with D1, D2, D3 = 50, 60, 3 and N = 200, as in the seeds.
        var x = randn([200, 50], dtype: ScalarType.Float64, generator: g);
        var w1 = randn([50, 60], dtype: ScalarType.Float64, generator: g);
        var w2 = randn([60, 3], dtype: ScalarType.Float64, generator: g);
        var a = nn.functional.relu(x.matmul(w1)).matmul(w2);
        Assert.True(a.std([0L], unbiased: false).min().item<double>() > 5, "pre-BN activations should be far from unit scale");

        var bn = new BatchNorm(3, dtype: ScalarType.Float64);
        var normalized = bn.forward(a);
        Assert.True(normalized.mean([0L]).abs().max().item<double>() < 1e-12);
        Assert.True((normalized.std([0L], unbiased: false) - 1).abs().max().item<double>() < 1e-6);

        using (no_grad())
        {
            bn.Gamma.copy_(tensor(new double[] { 1, 2, 3 }));
            bn.Beta.copy_(tensor(new double[] { 11, 12, 13 }));
        }
        var shifted = bn.forward(a);
        Close.Within(1e-8, shifted.mean([0L]), tensor(new double[] { 11, 12, 13 }), "shifted.mean([0L])");
        Close.Within(1e-6, shifted.std([0L], unbiased: false), tensor(new double[] { 1, 2, 3 }), "shifted.std([0L], unbiased: false)");
    }

    [Fact]
    public void Digest7_2_batchnorm_test_mode_after_50_warmup_passes_is_near_unit_normal()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var w1 = randn([50, 60], dtype: ScalarType.Float64, generator: g);
        var w2 = randn([60, 3], dtype: ScalarType.Float64, generator: g);
        Tensor Batch() => nn.functional.relu(randn([200, 50], dtype: ScalarType.Float64, generator: g).matmul(w1)).matmul(w2);

        var bn = new BatchNorm(3, dtype: ScalarType.Float64);
        for (var t = 0; t < 50; t++)
            using (NewDisposeScope()) bn.forward(Batch());
        bn.eval();
        var output = bn.forward(Batch());
        // Seeds: means within ~0.1 of 0, stds within ~0.12 of 1.
        Assert.True(output.mean([0L]).abs().max().item<double>() < 0.15);
        Assert.True((output.std([0L], unbiased: false) - 1).abs().max().item<double>() < 0.15);
    }

    [Fact]
    public void Digest7_2_spatial_batchnorm_train_forward_per_channel_statistics()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var x = (randn([2, 3, 4, 5], dtype: ScalarType.Float64, generator: g) * 4) + 10;
        var bn = new SpatialBatchNorm(3, dtype: ScalarType.Float64);
        var output = bn.forward(x);
        long[] axes = [0, 2, 3];
        Assert.True(output.mean(axes).abs().max().item<double>() < 1e-12);
        Assert.True((output.std(axes, unbiased: false) - 1).abs().max().item<double>() < 1e-5);

        using (no_grad())
        {
            bn.Gamma.copy_(tensor(new double[] { 3, 4, 5 }));
            bn.Beta.copy_(tensor(new double[] { 6, 7, 8 }));
        }
        var shifted = bn.forward(x);
        Close.Within(1e-8, shifted.mean(axes), tensor(new double[] { 6, 7, 8 }), "shifted.mean(axes)");
        Close.Within(1e-5, shifted.std(axes, unbiased: false), tensor(new double[] { 3, 4, 5 }), "shifted.std(axes, unbiased: false)");
    }

    [Fact]
    public void Digest7_2_spatial_batchnorm_test_mode_after_50_warmup_passes()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var bn = new SpatialBatchNorm(4, dtype: ScalarType.Float64);
        for (var t = 0; t < 50; t++)
            using (NewDisposeScope()) bn.forward((randn([10, 4, 11, 12], dtype: ScalarType.Float64, generator: g) * 2.3) + 13);
        bn.eval();
        var output = bn.forward((randn([10, 4, 11, 12], dtype: ScalarType.Float64, generator: g) * 2.3) + 13);
        long[] axes = [0, 2, 3];
        // Seeds: means [-0.080, 0.076, 0.057, 0.044], stds [0.967, 1.030, 1.029, 1.006].
        Assert.True(output.mean(axes).abs().max().item<double>() < 0.15);
        Assert.True((output.std(axes, unbiased: false) - 1).abs().max().item<double>() < 0.1);
    }

    [Fact]
    public void Backward_runs_after_the_forward_dispose_scope_has_closed()
    {
        // A model's forward runs in its own dispose scope and hands out only the scores; the BN node must
        // not depend on anything that scope disposed (TorchSharp's placeholders for unused outputs included).
        using var scope = NewDisposeScope();
        var g = new Generator(4);
        var x = Randn(g, 1, 0, 4, 3, 2, 2);
        var bn = new SpatialBatchNorm(3, dtype: ScalarType.Float64);
        Tensor loss;
        using (var inner = NewDisposeScope())
            loss = inner.MoveToOuter(bn.forward(x).square().sum());
        loss.backward();
        Assert.Equal([4L, 3, 2, 2], x.grad!.shape);
        Assert.True(x.grad!.isfinite().all().item<bool>());
    }

    [Fact]
    public void Wrong_input_shape_gives_a_clear_error()
    {
        var bn = new SpatialBatchNorm(3);
        var error = Assert.Throws<ArgumentException>(() => bn.forward(zeros(2, 4, 5, 5)));
        Assert.Contains("3 features", error.Message);
    }
}
