using static TorchSharp.torch;

namespace Sweep.Models.Tests.Support;

/// <summary>
/// The docs/seed-formulas.md §2 formulas written with plain tensor ops, so that TorchSharp's own autograd differentiates
/// them (the "graph" backward the hand-written ones must match).
/// </summary>
internal static class ReferenceLayers
{
    public static Tensor BatchNorm(Tensor x, Tensor gamma, Tensor beta, double eps = 1e-5)
    {
        long[] axes = x.dim() == 4 ? [0, 2, 3] : [0];
        long[] shape = x.dim() == 4 ? [1, x.shape[1], 1, 1] : [1, x.shape[1]];
        var mean = x.mean(axes, keepdim: true);
        var centered = x - mean;
        var variance = (centered * centered).mean(axes, keepdim: true);
        var xHat = centered / (variance + eps).sqrt();
        return xHat * gamma.view(shape) + beta.view(shape);
    }

    public static Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, double eps = 1e-5)
    {
        var mean = x.mean([1L], keepdim: true);
        var centered = x - mean;
        var variance = (centered * centered).mean([1L], keepdim: true);
        return centered / (variance + eps).sqrt() * gamma + beta;
    }

    public static Tensor GroupNorm(Tensor x, Tensor gamma, Tensor beta, long groups, double eps = 1e-5)
    {
        var shape = x.shape;
        var grouped = x.reshape(shape[0], groups, -1);
        var mean = grouped.mean([2L], keepdim: true);
        var centered = grouped - mean;
        var variance = (centered * centered).mean([2L], keepdim: true);
        var xHat = (centered / (variance + eps).sqrt()).reshape(shape);
        return xHat * gamma.view(1, shape[1], 1, 1) + beta.view(1, shape[1], 1, 1);
    }
}
