using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sweep.Models.Layers;

/// <summary>
/// Batch norm with the seeds' bookkeeping (digest §2): train mode normalizes with the batch's biased
/// statistics and updates running = Momentum*running + (1 - Momentum)*batch (Momentum 0.9 weights the old
/// value); test mode uses the running statistics, which start at zero. gamma ("weight") starts at 1 and
/// beta ("bias") at 0. Subclasses fix the input layout.
/// </summary>
public abstract class BatchNormBase : nn.Module<Tensor, Tensor>
{
    private Parameter weight;
    private Parameter bias;
    private Tensor running_mean;
    private Tensor running_var;

    protected BatchNormBase(string name, long features, double eps, double momentum, Device? device, ScalarType dtype) : base(name)
    {
        if (features <= 0)
            throw new ArgumentException($"{name}: feature count {features} is invalid; use a positive count");
        if (!(momentum >= 0 && momentum <= 1))
            throw new ArgumentException($"{name}: momentum {momentum} is invalid; use a value in [0, 1] (0.9 keeps 90% of the old running value)");
        Features = features;
        Eps = eps;
        Momentum = momentum;
        weight = new Parameter(ones(features, dtype: dtype, device: device));
        bias = new Parameter(zeros(features, dtype: dtype, device: device));
        running_mean = zeros(features, dtype: dtype, device: device);
        running_var = zeros(features, dtype: dtype, device: device);
        RegisterComponents();
    }

    public long Features { get; }
    public double Eps { get; }

    /// <summary>Weight of the OLD running value in the running-statistics update (seed convention, 0.9).</summary>
    public double Momentum { get; }

    /// <summary>gamma, shape (F,).</summary>
    public Parameter Gamma => weight;

    /// <summary>beta, shape (F,).</summary>
    public Parameter Beta => bias;

    public Tensor RunningMean => running_mean;
    public Tensor RunningVariance => running_var;

    protected abstract int ExpectedRank { get; }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != ExpectedRank || input.shape[1] != Features)
            throw new ArgumentException($"{GetName()}: expected {(ExpectedRank == 2 ? "(N, D)" : "(N, C, H, W)")} input with {Features} features, got shape [{string.Join(", ", input.shape)}]");
        if (!training)
            return NormalizationOps.BatchNormTest(input, weight, bias, running_mean, running_var, Eps);

        var output = NormalizationOps.BatchNormTrain(input, weight, bias, Eps, out var mean, out var variance);
        using (no_grad())
        {
            running_mean.Scale_(Momentum).Accumulate_(mean, 1 - Momentum);
            running_var.Scale_(Momentum).Accumulate_(variance, 1 - Momentum);
        }
        mean.Dispose();
        variance.Dispose();
        return output;
    }
}

/// <summary>Vanilla batch norm of (N, D) activations, statistics per feature over the batch (digest §2).</summary>
public sealed class BatchNorm : BatchNormBase
{
    public BatchNorm(long features, double eps = NormalizationOps.DefaultEps, double momentum = 0.9, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(BatchNorm), features, eps, momentum, device, dtype) { }

    protected override int ExpectedRank => 2;
}

/// <summary>Spatial batch norm of (N, C, H, W), statistics per channel over N, H and W (digest §2; torch's BatchNorm2d).</summary>
public sealed class SpatialBatchNorm : BatchNormBase
{
    public SpatialBatchNorm(long channels, double eps = NormalizationOps.DefaultEps, double momentum = 0.9, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(SpatialBatchNorm), channels, eps, momentum, device, dtype) { }

    protected override int ExpectedRank => 4;
}

/// <summary>Layer norm of (N, D): each row normalized over its features; no running statistics, train == test (digest §2).</summary>
public sealed class LayerNorm : nn.Module<Tensor, Tensor>
{
    private Parameter weight;
    private Parameter bias;

    public LayerNorm(long features, double eps = NormalizationOps.DefaultEps, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(LayerNorm))
    {
        if (features <= 0)
            throw new ArgumentException($"LayerNorm: feature count {features} is invalid; use a positive count");
        Eps = eps;
        weight = new Parameter(ones(features, dtype: dtype, device: device));
        bias = new Parameter(zeros(features, dtype: dtype, device: device));
        RegisterComponents();
    }

    public double Eps { get; }
    public Parameter Gamma => weight;
    public Parameter Beta => bias;

    public override Tensor forward(Tensor input) => NormalizationOps.LayerNorm(input, weight, bias, Eps);
}

/// <summary>
/// Spatial group norm of (N, C, H, W): statistics per sample over each of <see cref="Groups"/> groups of
/// contiguous channels; gamma/beta per channel; no running statistics, train == test (digest §2).
/// </summary>
public sealed class SpatialGroupNorm : nn.Module<Tensor, Tensor>
{
    private Parameter weight;
    private Parameter bias;

    public SpatialGroupNorm(long groups, long channels, double eps = NormalizationOps.DefaultEps, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(SpatialGroupNorm))
    {
        if (groups <= 0 || channels <= 0 || channels % groups != 0)
            throw new ArgumentException($"SpatialGroupNorm: {groups} groups do not divide {channels} channels; pick a divisor of the channel count");
        Groups = groups;
        Eps = eps;
        weight = new Parameter(ones(channels, dtype: dtype, device: device));
        bias = new Parameter(zeros(channels, dtype: dtype, device: device));
        RegisterComponents();
    }

    public long Groups { get; }
    public double Eps { get; }
    public Parameter Gamma => weight;
    public Parameter Beta => bias;

    public override Tensor forward(Tensor input) => NormalizationOps.SpatialGroupNorm(input, weight, bias, Groups, Eps);
}

/// <summary>
/// Inverted dropout with DROP probability <see cref="DropProbability"/> (PyTorch/ECE meaning; a CS231n
/// keep ratio k converts to 1 - k). Train mode zeroes elements with that probability and scales the rest
/// by 1/(1 - p); test mode is the identity. Masks come from the generator handed in, so a trial's masks
/// are reproducible from its seed and concurrent trials never share random state.
/// </summary>
public sealed class InvertedDropout : nn.Module<Tensor, Tensor>
{
    private readonly Generator generator;

    public InvertedDropout(double dropProbability, Generator generator) : base(nameof(InvertedDropout))
    {
        if (!(dropProbability >= 0 && dropProbability < 1))
            throw new ArgumentException($"InvertedDropout: drop probability {dropProbability} is invalid; use a value in [0, 1) (CS231n keep ratio k means 1 - k)");
        DropProbability = dropProbability;
        this.generator = generator;
        RegisterComponents();
    }

    public double DropProbability { get; }

    /// <summary>The drop probability equivalent to a CS231n <c>dropout_keep_ratio</c>.</summary>
    public static double FromKeepRatio(double keepRatio) => 1 - keepRatio;

    public override Tensor forward(Tensor input) =>
        training && DropProbability > 0 ? NormalizationOps.InvertedDropout(input, DropProbability, generator) : input.alias();
}
