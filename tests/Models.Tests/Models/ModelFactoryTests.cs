using Sweep.Models.Layers;
using Sweep.Models.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Models;

public class ModelFactoryTests
{
    private static readonly double Ln10 = Math.Log(10);

    private static double SumOfSquaredWeights(ClassifierModel model) =>
        model.RegularizedWeights.Sum(w => w.square().sum().to_type(ScalarType.Float64).item<double>());

    [Fact]
    public void Digest7_3_fc_initial_loss_is_ln10_and_reg_adds_half_reg_sum_of_squared_weights()
    {
        using var scope = NewDisposeScope();
        var spec = new FullyConnectedNetSpec([20, 30])
        {
            InputChannels = 15, InputHeight = 1, InputWidth = 1, WeightScale = 5e-2, DType = ScalarType.Float64,
        };
        var g = new Generator(231);
        var x = randn([2, 15], dtype: ScalarType.Float64, generator: g);
        var y = randint(0, 10, [2], generator: g);

        var plain = ModelFactory.Create(spec, CPU, seed: 1);
        var regularized = ModelFactory.Create(spec with { Reg = 3.14 }, CPU, seed: 1);
        var loss0 = plain.Loss(x, y).item<double>();
        var loss314 = regularized.Loss(x, y).item<double>();
        // Seeds: 2.3005 (000) / 2.3002 (001); 7.0521 / 6.742 with reg 3.14; analytic reg term ~4.71.
        Assert.InRange(loss0, Ln10 - 0.02, Ln10 + 0.02);
        Assert.Equal(0.5 * 3.14 * SumOfSquaredWeights(regularized), loss314 - loss0, 10);
        Assert.InRange(loss314, 6.5, 7.5);
        Assert.Equal(1200, regularized.RegularizedWeights.Sum(w => w.numel()));
    }

    [Fact]
    public void Digest7_3_three_layer_convnet_initial_loss_with_and_without_reg()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(231);
        var x = randn([50, 3, 32, 32], dtype: ScalarType.Float64, generator: g);
        var y = randint(0, 10, [50], generator: g);
        var spec = new ThreeLayerConvNetSpec { DType = ScalarType.Float64 };
        using (no_grad())
        {
            var loss0 = ModelFactory.Create(spec, CPU, seed: 3).Loss(x, y).item<double>();
            var model = ModelFactory.Create(spec with { Reg = 0.5 }, CPU, seed: 3);
            var loss05 = model.Loss(x, y).item<double>();
            // Seeds: 2.302586 / 2.3025851 without reg; 2.5083 / 2.5084 with reg 0.5 (analytic +0.206).
            Assert.InRange(loss0, Ln10 - 1e-3, Ln10 + 1e-3);
            Assert.InRange(loss05, 2.5083 - 0.01, 2.5083 + 0.01);
            Assert.Equal(4704 + 819200 + 1000, model.RegularizedWeights.Sum(w => w.numel()));
        }
    }

    [Fact]
    public void Digest3_3_three_layer_convnet_defaults_and_shapes()
    {
        using var scope = NewDisposeScope();
        var model = ModelFactory.Create(new ThreeLayerConvNetSpec(), CPU, seed: 1);
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal([32L, 3, 7, 7], shapes["conv1.weight"]);
        Assert.Equal([100L, 8192], shapes["fc1.weight"]);
        Assert.Equal([10L, 100], shapes["fc2.weight"]);
        Assert.Equal([32L], shapes["conv1.bias"]);
        using (no_grad())
            Assert.Equal([4L, 10], model.forward(zeros(4, 3, 32, 32)).shape);
        Assert.Equal(0.0, model.named_parameters().Where(p => p.name.EndsWith("bias")).Sum(p => p.parameter.abs().sum().item<float>()));
        var std = model.named_parameters().First(p => p.name == "fc1.weight").parameter.std().item<float>();
        Assert.InRange(std, 0.9e-3, 1.1e-3); // N(0, ws^2) with ws 1e-3
    }

    [Fact]
    public void Digest3_4_challenge_cnn_has_the_seed_layout_and_pytorch_default_init()
    {
        using var scope = NewDisposeScope();
        var spec = ConvNetSpec.Challenge;
        Assert.Equal([32, 32, 64, 64], spec.ConvChannels);
        Assert.Equal([2, 4], spec.PoolAfter);
        Assert.Empty(spec.HiddenDims);
        Assert.Equal(Normalization.BatchNorm, spec.Normalization);
        Assert.Null(spec.WeightScale);
        Assert.Equal(0.0, spec.Dropout);
        Assert.Equal(0.0, spec.Reg);

        var model = ModelFactory.Create(spec, CPU, seed: 1);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal([10L, 4096], parameters["fc.0.weight"].shape);
        Assert.Equal([64L, 64, 3, 3], parameters["conv.3.weight"].shape);
        Assert.Equal(106_922, parameters.Values.Sum(p => p.numel()));
        Assert.Equal(8, model.named_buffers().Count()); // running mean and variance of 4 spatial BNs
        Assert.IsType<SpatialBatchNorm>(model.named_modules().Single(m => m.name == "norm.0").module);
        // kaiming_uniform(a = sqrt 5): U(+-1/sqrt(fan_in)), fan_in = 32*3*3 for conv.1.
        var bound = 1 / Math.Sqrt(32 * 9);
        var weight = parameters["conv.1.weight"];
        Assert.True(weight.abs().max().item<float>() <= bound);
        Assert.InRange(weight.std().item<float>(), 0.9 * bound / Math.Sqrt(3), 1.1 * bound / Math.Sqrt(3));
        Assert.True(parameters["conv.1.bias"].abs().max().item<float>() <= bound);
        Assert.NotEqual(0f, parameters["conv.1.bias"].abs().sum().item<float>());
        using (no_grad())
            Assert.Equal([5L, 10], model.forward(randn([5, 3, 32, 32], generator: new Generator(231))).shape);
    }

    [Fact]
    public void Same_seed_gives_identical_parameters_and_dropout_masks_and_another_seed_does_not()
    {
        using var scope = NewDisposeScope();
        var spec = new FullyConnectedNetSpec([50, 40]) { Dropout = 0.5, Normalization = Normalization.BatchNorm };
        var a = ModelFactory.Create(spec, CPU, seed: 42);
        var b = ModelFactory.Create(spec, CPU, seed: 42);
        var c = ModelFactory.Create(spec, CPU, seed: 43);
        var pa = a.parameters().ToArray();
        var pb = b.parameters().ToArray();
        var pc = c.parameters().ToArray();
        Assert.All(pa.Zip(pb), p => Assert.Equal(0f, (p.First - p.Second).abs().max().item<float>()));
        Assert.NotEqual(0f, (pa[0] - pc[0]).abs().max().item<float>());

        var x = randn([8, 3, 32, 32], generator: new Generator(231));
        Assert.Equal(0f, (a.forward(x) - b.forward(x)).abs().max().item<float>());
        Assert.NotEqual(0f, (a.forward(x) - c.forward(x)).abs().max().item<float>());
    }

    [Theory]
    [InlineData(Normalization.None)]
    [InlineData(Normalization.BatchNorm)]
    [InlineData(Normalization.LayerNorm)]
    public void Fc_layout_and_l2_term_covers_weights_only(Normalization normalization)
    {
        using var scope = NewDisposeScope();
        var spec = new FullyConnectedNetSpec([100, 100, 100]) { Normalization = normalization, Reg = 0.7, WeightScale = 3e-2 };
        var model = ModelFactory.Create(spec, CPU, seed: 5);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Equal(4, names.Count(n => n.StartsWith("affine") && n.EndsWith("weight")));
        Assert.Equal(normalization == Normalization.None ? 0 : 6, names.Count(n => n.StartsWith("norm")));
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.StartsWith("norm")))
                parameter.add_(1); // gamma/beta must not enter the L2 term
            Assert.Equal(0.5 * 0.7 * SumOfSquaredWeights(model), model.RegularizationLoss().item<float>(), 3);
            Assert.Equal([3L, 10], model.forward(randn([3, 3, 32, 32], generator: new Generator(231))).shape);
        }
        Assert.Equal(0f, ModelFactory.Create(spec with { Reg = 0 }, CPU, 5).RegularizationLoss().item<float>());
    }

    /// <remarks>
    /// Measured on 150 input seeds per case: the largest gradient difference is 0.2% of the float32
    /// tolerance below, and 1e-11 of it in float64, so the tolerance leaves a wide margin. This test
    /// failed in about one run in three while the layers passed implicit Scalar temporaries to native
    /// code (corrupted when a collection finalized them mid-call, see KeptScalars).
    /// </remarks>
    [Theory]
    [InlineData(Normalization.BatchNorm, ScalarType.Float32, 1e-4)]
    [InlineData(Normalization.GroupNorm, ScalarType.Float32, 1e-4)]
    [InlineData(Normalization.BatchNorm, ScalarType.Float64, 1e-10)]
    [InlineData(Normalization.GroupNorm, ScalarType.Float64, 1e-10)]
    public void Sweep_and_builtin_layers_compute_the_same_training_forward(Normalization normalization, ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        var spec = new ConvNetSpec([8, 8, 16], [1, 3], [32]) { Normalization = normalization, Groups = 4, DType = dtype };
        var sweep = ModelFactory.Create(spec, CPU, seed: 9);
        var builtIn = ModelFactory.Create(spec with { Layers = LayerImplementation.BuiltIn }, CPU, seed: 9);
        Assert.IsNotType<SpatialBatchNorm>(builtIn.named_modules().Single(m => m.name == "norm.0").module);
        var g = new Generator(231);
        var x = randn([6, 3, 32, 32], dtype: dtype, generator: g);
        var y = randint(0, 10, [6], generator: g);
        var lossSweep = sweep.Loss(x, y);
        var lossBuiltIn = builtIn.Loss(x, y);
        Assert.Equal(lossBuiltIn.to_type(ScalarType.Float64).item<double>(), lossSweep.to_type(ScalarType.Float64).item<double>(), 4);
        lossSweep.backward();
        lossBuiltIn.backward();
        foreach (var ((name, p), (_, q)) in sweep.named_parameters().Zip(builtIn.named_parameters()))
        {
            var difference = (p.grad! - q.grad!).abs().max().to_type(ScalarType.Float64).item<double>();
            var scale = 1 + q.grad!.abs().max().to_type(ScalarType.Float64).item<double>();
            Assert.True(difference <= tolerance * scale, $"{name}: gradients differ by {difference:G3} (tolerance {tolerance * scale:G3})");
        }
    }

    [Fact]
    public void Builtin_fc_layers_with_layernorm_and_dropout_build_and_run()
    {
        using var scope = NewDisposeScope();
        var spec = new FullyConnectedNetSpec([30]) { Normalization = Normalization.LayerNorm, Dropout = 0.2, Layers = LayerImplementation.BuiltIn };
        var model = ModelFactory.Create(spec, CPU, seed: 1);
        Assert.Equal([2L, 10], model.forward(randn([2, 3, 32, 32], generator: new Generator(231))).shape);
    }

    [Fact]
    public void Specs_are_values_and_bad_specs_fail_with_one_line_messages()
    {
        Assert.Equal(new FullyConnectedNetSpec([100, 50]) { Dropout = 0.1 }, new FullyConnectedNetSpec(new List<int> { 100, 50 }) { Dropout = 0.1 });
        Assert.NotEqual(new FullyConnectedNetSpec([100, 50]), new FullyConnectedNetSpec([100, 51]));
        Assert.Equal(ConvNetSpec.Challenge, new ConvNetSpec([32, 32, 64, 64], [2, 4], []) { Normalization = Normalization.BatchNorm });
        Assert.Equal(ConvNetSpec.Challenge.GetHashCode(), (ConvNetSpec.Challenge with { }).GetHashCode());

        void Fails(ModelSpec spec, string fragment)
        {
            var error = Assert.Throws<ArgumentException>(() => ModelFactory.Create(spec, CPU, 1));
            Assert.Contains(fragment, error.Message);
            Assert.DoesNotContain('\n', error.Message);
        }
        Fails(new FullyConnectedNetSpec([100]) { Dropout = 1 }, "dropout");
        Fails(new FullyConnectedNetSpec([100]) { Normalization = Normalization.GroupNorm }, "groupnorm");
        Fails(new FullyConnectedNetSpec([0]), "hidden_dims");
        Fails(new ThreeLayerConvNetSpec { FilterSize = 4 }, "filter_size");
        Fails(new ConvNetSpec([32, 48], [1], []) { Normalization = Normalization.GroupNorm, Groups = 5 }, "groups 5");
        Fails(new ConvNetSpec([32], [1, 2], []), "pool_after");
        Fails(new ConvNetSpec([32], [], []) { WeightScale = -1 }, "weight_scale");
        Fails(new FullyConnectedNetSpec([10]) { Reg = -1 }, "reg");
    }
}
