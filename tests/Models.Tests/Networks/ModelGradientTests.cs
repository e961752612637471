using Sweep.Models.Networks;
using Sweep.Models.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Networks;

/// <summary>Whole-model gradient checks of docs/seed-formulas.md §6, float64, numeric gradients of the scalar loss.</summary>
public class ModelGradientTests(ITestOutputHelper output)
{
    private static FullyConnectedNetSpec SmallFc(Normalization normalization = Normalization.None, double reg = 0, double dropout = 0) =>
        new([20, 30])
        {
            InputChannels = 15, InputHeight = 1, InputWidth = 1, NumClasses = 10,
            WeightScale = 5e-2, DType = ScalarType.Float64, Normalization = normalization, Reg = reg, Dropout = dropout,
        };

    /// <summary>Relative error per parameter between backward() and centered differences of the loss.</summary>
    private Dictionary<string, double> CheckAll(ClassifierModel model, Tensor x, Tensor y, double h, Action? beforeEachForward = null)
    {
        double LossValue()
        {
            beforeEachForward?.Invoke();
            return model.Loss(x, y).item<double>();
        }

        model.zero_grad();
        beforeEachForward?.Invoke();
        using (var scope = NewDisposeScope())
            model.Loss(x, y).backward();
        var errors = new Dictionary<string, double>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            var numeric = GradientCheck.Numeric(LossValue, parameter, h);
            errors[name] = GradientCheck.RelError(parameter.grad!, numeric);
            output.WriteLine($"{name}: rel_error {errors[name]:E2}");
        }
        return errors;
    }

    private static (Tensor x, Tensor y) RandomBatch(long seed, long n, long[] shape, int classes)
    {
        var g = new Generator((ulong)seed);
        var x = randn([n, .. shape], dtype: ScalarType.Float64, generator: g);
        var y = randint(0, classes, [n], generator: g);
        return (x, y);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(3.14)]
    public void Digest6_fc_net_without_normalization(double reg)
    {
        using var scope = NewDisposeScope();
        var model = ModelFactory.Create(SmallFc(reg: reg), CPU, seed: 231);
        var (x, y) = RandomBatch(1, 2, [15], 10);
        var errors = CheckAll(model, x, y, 1e-5);
        // docs/seed-formulas.md §6: "~1e-7 or less; W2 ~1e-5 OK at reg 0" (seeds up to 2.2e-5 on W2).
        Assert.All(errors, e => Assert.True(e.Value < 1e-4, $"{e.Key} {e.Value:E2}"));
        Assert.True(errors.Where(e => e.Key.EndsWith("bias")).All(e => e.Value < 1e-6));
    }

    [Fact]
    public void Digest6_fc_net_with_batchnorm()
    {
        using var scope = NewDisposeScope();
        var model = ModelFactory.Create(SmallFc(Normalization.BatchNorm, reg: 3.14), CPU, seed: 231);
        // The seeds check with N = 2, where each feature's two pre-BN values can nearly coincide; x_hat then
        // bends so sharply that h = 1e-5 differences are off by ~1e-2 for TorchSharp's BatchNorm1d just as
        // for ours (measured with this draw). N = 10 keeps the check meaningful; the N = 2 gradients are
        // pinned exactly against the built-in layer below.
        var (x, y) = RandomBatch(2, 10, [15], 10);
        var errors = CheckAll(model, x, y, 1e-5);
        // docs/seed-formulas.md §6: W 1e-4..1e-10; gamma/beta 1e-8..1e-9; biases feeding BN have ~0 true gradient.
        Assert.All(errors.Where(e => e.Key.StartsWith("affine") && e.Key.EndsWith("weight")), e => Assert.True(e.Value < 1e-4, $"{e.Key} {e.Value:E2}"));
        Assert.All(errors.Where(e => e.Key.StartsWith("norm")), e => Assert.True(e.Value < 1e-6, $"{e.Key} {e.Value:E2}"));
        Assert.True(errors["affine.2.bias"] < 1e-7);
    }

    [Fact]
    public void Fc_net_with_batchnorm_on_two_samples_matches_torch_batchnorm1d_gradients()
    {
        using var scope = NewDisposeScope();
        var spec = SmallFc(Normalization.BatchNorm, reg: 3.14);
        var sweep = ModelFactory.Create(spec, CPU, seed: 231);
        var builtIn = ModelFactory.Create(spec with { Layers = LayerImplementation.BuiltIn }, CPU, seed: 231);
        var (x, y) = RandomBatch(2, 2, [15], 10);
        sweep.Loss(x, y).backward();
        builtIn.Loss(x, y).backward();
        foreach (var ((name, p), (_, q)) in sweep.named_parameters().Zip(builtIn.named_parameters()))
        {
            // Conv/affine biases feeding BN have a true gradient of 0: compare absolutely there.
            var error = name.StartsWith("affine") && name.EndsWith("bias") && name != "affine.2.bias"
                ? (p.grad! - q.grad!).abs().max().item<double>()
                : GradientCheck.RelError(p.grad!, q.grad!);
            Assert.True(error < 1e-9, $"{name} {error:E2}");
        }
    }

    [Fact]
    public void Fc_net_with_layernorm()
    {
        using var scope = NewDisposeScope();
        var model = ModelFactory.Create(SmallFc(Normalization.LayerNorm, reg: 3.14), CPU, seed: 231);
        var (x, y) = RandomBatch(3, 2, [15], 10);
        var errors = CheckAll(model, x, y, 1e-5);
        Assert.All(errors, e => Assert.True(e.Value < 5e-4, $"{e.Key} {e.Value:E2}"));
    }

    [Theory]
    [InlineData(0.25)]
    [InlineData(0.5)]
    public void Digest6_fc_net_with_dropout_and_a_reseeded_mask(double dropout)
    {
        using var scope = NewDisposeScope();
        var model = ModelFactory.Create(SmallFc(dropout: dropout), CPU, seed: 231);
        var (x, y) = RandomBatch(4, 2, [15], 10);
        var errors = CheckAll(model, x, y, 1e-5, () => model.DropoutGenerator!.manual_seed(123));
        // docs/seed-formulas.md §6: FC + dropout ~1e-6 or less, W2 ~1e-5 acceptable.
        Assert.All(errors, e => Assert.True(e.Value < 1e-4, $"{e.Key} {e.Value:E2}"));
    }

    [Fact]
    public void Digest6_three_layer_convnet_with_h_1e_6()
    {
        using var scope = NewDisposeScope();
        var spec = new ThreeLayerConvNetSpec
        {
            InputHeight = 16, InputWidth = 16, NumFilters = 3, FilterSize = 3, HiddenDim = 7,
            DType = ScalarType.Float64, WeightScale = 1e-2,
        };
        var model = ModelFactory.Create(spec, CPU, seed: 231);
        var (x, y) = RandomBatch(5, 2, [3, 16, 16], 10);
        var errors = CheckAll(model, x, y, 1e-6);
        // docs/seed-formulas.md §6: "up to ~1e-2" (seeds W2 1.8e-2, W1 up to 0.099 in ECE). The seeds check at their default
        // weight_scale 1e-3, where gradients are so small that h = 1e-6 differences are mostly rounding;
        // ws 1e-2 keeps the same architecture but makes the comparison informative (errors here ~1e-5).
        Assert.All(errors, e => Assert.True(e.Value < 2e-2, $"{e.Key} {e.Value:E2}"));
    }

    [Theory]
    [InlineData(Normalization.BatchNorm)]
    [InlineData(Normalization.GroupNorm)]
    public void Convnet_with_spatial_normalization(Normalization normalization)
    {
        using var scope = NewDisposeScope();
        var spec = new ConvNetSpec([4, 4], [2], [6])
        {
            InputHeight = 6, InputWidth = 6, Normalization = normalization, Groups = 2,
            DType = ScalarType.Float64, WeightScale = 0.3, Reg = 0.1,
        };
        var model = ModelFactory.Create(spec, CPU, seed: 7);
        var (x, y) = RandomBatch(6, 4, [3, 6, 6], 10);
        var errors = CheckAll(model, x, y, 1e-6);
        if (normalization == Normalization.BatchNorm)
        {
            // A per-channel conv bias is cancelled by the batch mean that follows it: its true gradient is 0,
            // so (as docs/seed-formulas.md §6 notes for FC biases feeding BN) only its size is meaningful, not a relative error.
            foreach (var (name, parameter) in model.named_parameters().Where(p => p.name.StartsWith("conv") && p.name.EndsWith("bias")))
            {
                Assert.True(parameter.grad!.abs().max().item<double>() < 1e-12, name);
                errors.Remove(name);
            }
        }
        Assert.All(errors, e => Assert.True(e.Value < 1e-5, $"{e.Key} {e.Value:E2}"));
    }
}
