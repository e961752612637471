using TorchSharp;

namespace Sweep.Models.Networks;

/// <summary>Which normalization layer sits between each affine/conv layer and its ReLU.</summary>
public enum Normalization { None, BatchNorm, LayerNorm, GroupNorm }

/// <summary>
/// Which implementation backs the normalization and dropout layers. <see cref="Sweep"/> is the
/// hand-written autograd of <c>Sweep.Models.Layers</c> with the seeds' exact semantics; <see cref="BuiltIn"/>
/// uses TorchSharp's nn.BatchNorm1d/2d, nn.LayerNorm, nn.GroupNorm and nn.Dropout and exists as the
/// peer that benchmarks compare against (its BN keeps an unbiased running variance starting at 1 and
/// its dropout draws from the process-global generator, so it is not for trials).
/// </summary>
public enum LayerImplementation { Sweep, BuiltIn }

/// <summary>
/// Immutable description of a classifier; a model is built from one of these and nothing else, so a
/// trial's spec fully determines its architecture and initialization (given the trial's seed).
/// </summary>
public abstract record ModelSpec
{
    public int InputChannels { get; init; } = 3;
    public int InputHeight { get; init; } = 32;
    public int InputWidth { get; init; } = 32;
    public int NumClasses { get; init; } = 10;

    /// <summary>L2 strength: the loss gains 0.5 * Reg * sum(W^2) over weight matrices/kernels only.</summary>
    public double Reg { get; init; }

    public torch.ScalarType DType { get; init; } = torch.ScalarType.Float32;

    /// <summary>Hand-written Sweep layers (default) or TorchSharp's built-in ones (benchmark peer).</summary>
    public LayerImplementation Layers { get; init; } = LayerImplementation.Sweep;

    public int InputDim => InputChannels * InputHeight * InputWidth;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line message naming the bad value and the fix.</summary>
    public virtual void Validate()
    {
        if (InputChannels <= 0 || InputHeight <= 0 || InputWidth <= 0)
            throw new ArgumentException($"input shape {InputChannels}x{InputHeight}x{InputWidth} is invalid; every dimension must be positive");
        if (NumClasses < 2)
            throw new ArgumentException($"num_classes {NumClasses} is invalid; a classifier needs at least 2 classes");
        if (!(Reg >= 0) || double.IsInfinity(Reg))
            throw new ArgumentException($"reg {Reg} is invalid; use a finite value >= 0");
        if (DType is not (torch.ScalarType.Float32 or torch.ScalarType.Float64))
            throw new ArgumentException($"dtype {DType} is not supported; use Float32 (training) or Float64 (gradient checks)");
    }

    /// <summary>Validation shared by the specs that take a drop probability.</summary>
    protected static void ValidateDropout(double dropout)
    {
        if (!(dropout >= 0 && dropout < 1))
            throw new ArgumentException($"dropout {dropout} is invalid; it is a DROP probability in [0, 1) (CS231n keep ratio k converts to dropout = 1 - k)");
    }

    protected static void ValidateWeightScale(double weightScale)
    {
        if (!(weightScale > 0) || double.IsInfinity(weightScale))
            throw new ArgumentException($"weight_scale {weightScale} is invalid; it is the std of the N(0, ws^2) init and must be a finite value > 0");
    }

    protected static bool SequenceEqual(IReadOnlyList<int> a, IReadOnlyList<int> b) =>
        a.Count == b.Count && a.SequenceEqual(b);

    protected static int SequenceHash(IReadOnlyList<int> values)
    {
        var hash = new HashCode();
        foreach (var v in values) hash.Add(v);
        return hash.ToHashCode();
    }

    protected static string Join(IReadOnlyList<int> values) => "[" + string.Join(",", values) + "]";
}
