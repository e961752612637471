using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Layers;

/// <summary>
/// Functional entry points of the hand-written layers (digest §2). Each returns a tensor whose
/// gradient comes from Sweep's own backward pass, not from TorchSharp's autograd of the formula.
/// </summary>
/// <remarks>
/// Each custom-function apply runs in a dispose scope of its own (see <see cref="Apply"/>): while
/// TorchSharp wraps a function's outputs in native code, the only managed references to the input and to
/// the forward pass's outputs are locals that the JIT already treats as dead. Without an owner, a garbage
/// collection on another thread could finalize them, and so free their native tensors, mid-call.
/// </remarks>
public static class NormalizationOps
{
    public const double DefaultEps = 1e-5;

    /// <summary>
    /// Train-mode batch norm of (N, D) (per feature) or (N, C, H, W) (per channel, over N, H, W):
    /// x_hat = (x - mean)/sqrt(var + eps) with the biased batch variance, out = gamma*x_hat + beta.
    /// The batch mean and variance, shape (F,), are handed back for the running statistics.
    /// </summary>
    public static Tensor BatchNormTrain(Tensor x, Tensor gamma, Tensor beta, double eps, out Tensor batchMean, out Tensor batchVariance)
    {
        if (x.dim() is not (2 or 4))
            throw new ArgumentException($"batch norm expects (N, D) or (N, C, H, W) input, got shape [{string.Join(", ", x.shape)}]");
        using var scope = NewDisposeScope();
        var statistics = new BatchStatistics();
        var output = BatchNormFunction.apply(x, gamma, beta, eps, statistics);
        GC.KeepAlive(x);
        batchMean = scope.MoveToOuter(statistics.Mean!);
        batchVariance = scope.MoveToOuter(statistics.Variance!);
        return scope.MoveToOuter(output);
    }

    /// <summary>Test-mode batch norm: out = gamma*(x - running_mean)/sqrt(running_var + eps) + beta (plain ops).</summary>
    public static Tensor BatchNormTest(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVariance, double eps)
    {
        using var scope = NewDisposeScope();
        long[] broadcast = x.dim() == 4 ? [1, x.shape[1], 1, 1] : [1, x.shape[1]];
        var scale = gamma.mul(runningVariance.Shift(eps).rsqrt_());
        var shift = beta.sub(runningMean.mul(scale));
        return scope.MoveToOuter(x.mul(scale.view(broadcast)).Accumulate_(shift.view(broadcast)));
    }

    /// <summary>Layer norm of (N, D): statistics per row; gamma/beta of shape (D,).</summary>
    public static Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, double eps = DefaultEps)
    {
        if (x.dim() != 2)
            throw new ArgumentException($"layer norm expects (N, D) input, got shape [{string.Join(", ", x.shape)}]");
        return Apply(x, () => LayerNormFunction.apply(x, gamma, beta, eps));
    }

    /// <summary>Spatial group norm of (N, C, H, W) with <paramref name="groups"/> contiguous channel groups; gamma/beta of shape (C,).</summary>
    public static Tensor SpatialGroupNorm(Tensor x, Tensor gamma, Tensor beta, long groups, double eps = DefaultEps)
    {
        if (x.dim() != 4)
            throw new ArgumentException($"spatial group norm expects (N, C, H, W) input, got shape [{string.Join(", ", x.shape)}]");
        if (groups <= 0 || x.shape[1] % groups != 0)
            throw new ArgumentException($"spatial group norm: {groups} groups do not divide {x.shape[1]} channels; pick a divisor of the channel count");
        return Apply(x, () => SpatialGroupNormFunction.apply(x, gamma, beta, groups, eps));
    }

    /// <summary>
    /// Train-mode inverted dropout with DROP probability <paramref name="dropProbability"/> (PyTorch meaning;
    /// a CS231n keep ratio k is 1 - k): each element is zeroed with that probability and survivors are scaled
    /// by 1/(1 - p), so the expected output equals the input. The mask comes from <paramref name="generator"/>.
    /// </summary>
    public static Tensor InvertedDropout(Tensor x, double dropProbability, Generator generator)
    {
        if (!(dropProbability >= 0 && dropProbability < 1))
            throw new ArgumentException($"dropout {dropProbability} is invalid; it is a drop probability in [0, 1)");
        return dropProbability == 0 ? x.alias() : Apply(x, () => InvertedDropoutFunction.apply(x, dropProbability, generator));
    }

    /// <summary>
    /// Runs one custom-function apply inside a dispose scope that owns everything the apply creates until
    /// it has returned (the forward pass's outputs, TorchSharp's per-output placeholders), keeps
    /// <paramref name="input"/> reachable until then, and hands the result to the caller's scope.
    /// <see cref="BatchNormTrain"/> does the same inline, as it also hands out the statistics.
    /// </summary>
    private static Tensor Apply(Tensor input, Func<Tensor> apply)
    {
        using var scope = NewDisposeScope();
        var output = apply();
        GC.KeepAlive(input);
        return scope.MoveToOuter(output);
    }
}
