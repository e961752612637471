using TorchSharp;

namespace Sweep.Models.Models;

/// <summary>Which normalization layer sits between each affine/conv layer and its ReLU.</summary>
public enum Normalization { None, BatchNorm, LayerNorm, GroupNorm }

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

    public int InputDim => InputChannels * InputHeight * InputWidth;
}
