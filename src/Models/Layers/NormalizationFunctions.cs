using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Layers;

// Hand-written autograd for the normalization layers of digest §2. Each forward saves x_hat and
// inv_std (never x) and each backward is the simplified "alternative" formula
//     dx = inv_std/M * (M*dxhat - sum(dxhat) - x_hat * sum(dxhat * x_hat)),  dxhat = dout * gamma,
// evaluated as two fused passes over the activations. Intermediates live in a dispose scope so that
// a training step frees them as soon as they are used; only the returned gradients leave it.

/// <summary>
/// Train-mode batch norm of (N, D) (statistics per feature over N) or (N, C, H, W) (per channel over
/// N, H, W). Arguments: x, gamma, beta (shape (F,)), eps (double). Returns [out, batch mean, biased batch
/// variance]; the statistics have shape (F,), are non-differentiable and feed the caller's running averages.
/// </summary>
/// <remarks>
/// Saved for backward: the centered input x - mean (x_hat before its per-feature scaling, so x_hat
/// = centered * inv_std costs no extra pass) and inv_std. Per-feature sums of an (N, C, H, W) tensor
/// are taken as contiguous per-plane reductions over H*W followed by a tiny sum over N, and the sum of
/// dout * x_hat as a batched dot product, so the backward pass allocates nothing but dx.
/// </remarks>
internal sealed class BatchNormFunction : autograd.MultiTensorFunction<BatchNormFunction>
{
    public override string Name => nameof(BatchNormFunction);

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = ((Tensor)vars[0]).contiguous();
        var gamma = (Tensor)vars[1];
        var beta = (Tensor)vars[2];
        var eps = (double)vars[3];

        using var scope = NewDisposeScope();
        var layout = FeatureLayout.Of(x);
        // Two-pass statistics (mean, then the squared norm of the centered values): exact where
        // E[x^2] - mean^2 would cancel, and several times faster than torch's Welford var_mean on CPU here.
        var mean = layout.FeatureSum(x).div_(layout.Count);
        var centered = x.sub(layout.Broadcast(mean));
        var variance = layout.FeatureDot(centered, centered).div_(layout.Count);
        var invStd = variance.add(eps).rsqrt_();
        var scale = gamma.mul(invStd);
        var output = addcmul(layout.Broadcast(beta), centered, layout.Broadcast(scale), 1);
        ctx.save_for_backward([centered, invStd, gamma]);
        ctx.mark_non_differentiable([mean, variance]);
        // No zero gradients for the statistics: TorchSharp would build them from per-output placeholder
        // tensors that live in the caller's dispose scope, which a model's forward has already closed.
        ctx.set_materialize_grads(false);
        scope.MoveToOuter(centered, invStd);
        scope.MoveToOuter(output, mean, variance);
        return [output, mean, variance];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> gradOutputs)
    {
        using var scope = NewDisposeScope();
        if (gradOutputs[0].IsInvalid)
            return [null!, null!, null!, null!];
        var gradOutput = gradOutputs[0].contiguous();
        var saved = ctx.get_saved_variables();
        var (centered, invStd, gamma) = (saved[0], saved[1], saved[2]);
        var layout = FeatureLayout.Of(centered);

        var dBeta = layout.FeatureSum(gradOutput);
        var dGamma = layout.FeatureDot(gradOutput, centered).mul_(invStd);
        // Alt backward, dx = k*dout - k/M*(dBeta + x_hat*dGamma) with k = gamma*inv_std, written as
        // dx = k*dout + a*centered + b with per-feature a = -k*inv_std*dGamma/M, b = -k*dBeta/M.
        var k = gamma.mul(invStd);
        var a = k.mul(invStd).mul_(dGamma).mul_(-1.0 / layout.Count);
        var b = k.mul(dBeta).mul_(-1.0 / layout.Count);
        var dx = addcmul(layout.Broadcast(b), centered, layout.Broadcast(a), 1).addcmul_(gradOutput, layout.Broadcast(k), 1);
        scope.MoveToOuter(dx, dGamma, dBeta);
        return [dx, dGamma, dBeta, null!];
    }

    /// <summary>Per-feature reductions of an (N, D) or contiguous (N, C, H, W) tensor.</summary>
    private readonly record struct FeatureLayout(long Batch, long Features, long Plane)
    {
        public static FeatureLayout Of(Tensor x) => x.dim() switch
        {
            2 => new FeatureLayout(x.shape[0], x.shape[1], 1),
            4 => new FeatureLayout(x.shape[0], x.shape[1], x.shape[2] * x.shape[3]),
            _ => throw new ArgumentException($"batch norm expects (N, D) or (N, C, H, W) input, got shape [{string.Join(", ", x.shape)}]"),
        };

        /// <summary>Number of values behind each feature's statistics (N, or N*H*W).</summary>
        public double Count => (double)Batch * Plane;

        /// <summary>A (F,) tensor viewed to broadcast against the input.</summary>
        public Tensor Broadcast(Tensor perFeature) =>
            Plane == 1 ? perFeature.view(1, Features) : perFeature.view(1, Features, 1, 1);

        /// <summary>Sum over everything but the feature axis, shape (F,).</summary>
        public Tensor FeatureSum(Tensor t)
        {
            if (Plane == 1) return t.sum(0L);
            using var planes = t.view(Batch * Features, Plane).sum(1L);
            return planes.view(Batch, Features).sum(0L);
        }

        /// <summary>Per-feature dot product of two same-shaped tensors, shape (F,), without a full-size product.</summary>
        public Tensor FeatureDot(Tensor u, Tensor v)
        {
            using var dots = u.view(Batch * Features, 1, Plane).bmm(v.view(Batch * Features, Plane, 1));
            return dots.view(Batch, Features).sum(0L);
        }
    }
}

/// <summary>
/// Layer norm of (N, D) rows: statistics per row over the D features, gamma/beta of shape (D,).
/// Arguments: x, gamma, beta, eps (double). Train and test behave identically (digest §2).
/// </summary>
internal sealed class LayerNormFunction : autograd.SingleTensorFunction<LayerNormFunction>
{
    public override string Name => nameof(LayerNormFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var gamma = (Tensor)vars[1];
        var beta = (Tensor)vars[2];
        var eps = (double)vars[3];

        using var scope = NewDisposeScope();
        var (variance, mean) = x.var_mean([1L], unbiased: false, keepdim: true);
        var invStd = variance.add_(eps).rsqrt_();
        // (x - mean)*inv_std rather than the folded x*inv_std - mean*inv_std: rows are short, and the
        // subtraction first keeps the digits that the folded form cancels when |mean| >> std.
        var xHat = x.sub(mean).mul_(invStd);
        var output = addcmul(beta, xHat, gamma, 1);
        ctx.save_for_backward([xHat, invStd, gamma]);
        scope.MoveToOuter(xHat, invStd);
        return scope.MoveToOuter(output);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (xHat, invStd, gamma) = (saved[0], saved[1], saved[2]);
        double features = xHat.shape[1];

        var dBeta = gradOutput.sum(0L);
        var dGamma = gradOutput.mul(xHat).sum(0L);
        var dxHat = gradOutput.mul(gamma);
        var rowSum = dxHat.sum(1, keepdim: true);
        var rowDot = dxHat.mul(xHat).sum(1, keepdim: true);
        // dx = inv*(dxhat - rowSum/D - x_hat*rowDot/D), reusing dxhat's buffer.
        var dx = dxHat.add_(rowSum, alpha: -1.0 / features).addcmul_(xHat, rowDot, -1.0 / features).mul_(invStd);
        scope.MoveToOuter(dx, dGamma, dBeta);
        return [dx, dGamma, dBeta, null!];
    }
}

/// <summary>
/// Spatial group norm of (N, C, H, W): G groups of C/G contiguous channels, statistics per (sample, group)
/// over (C/G, H, W); gamma/beta per channel of shape (C,). Arguments: x, gamma, beta, groups (long), eps (double).
/// </summary>
internal sealed class SpatialGroupNormFunction : autograd.SingleTensorFunction<SpatialGroupNormFunction>
{
    private static readonly long[] ChannelAxes = [0, 2, 3];

    public override string Name => nameof(SpatialGroupNormFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var gamma = (Tensor)vars[1];
        var beta = (Tensor)vars[2];
        var groups = (long)vars[3];
        var eps = (double)vars[4];

        using var scope = NewDisposeScope();
        var shape = x.shape;
        var grouped = x.reshape(shape[0], groups, -1);
        var (variance, mean) = grouped.var_mean([2L], unbiased: false, keepdim: true);
        var invStd = variance.add_(eps).rsqrt_();
        var xHat = grouped.sub(mean).mul_(invStd).view(shape);
        var channel = new long[] { 1, shape[1], 1, 1 };
        var output = addcmul(beta.view(channel), xHat, gamma.view(channel), 1);
        ctx.save_for_backward([xHat, invStd, gamma]);
        ctx.save_data("groups", groups);
        scope.MoveToOuter(xHat, invStd);
        return scope.MoveToOuter(output);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (xHat, invStd, gamma) = (saved[0], saved[1], saved[2]);
        var groups = (long)ctx.get_data("groups");
        var shape = xHat.shape;

        var dBeta = gradOutput.sum(ChannelAxes);
        var dGamma = gradOutput.mul(xHat).sum(ChannelAxes);
        var dxHat = gradOutput.mul(gamma.view(1, shape[1], 1, 1)).view(shape[0], groups, -1);
        var xHatGrouped = xHat.view(shape[0], groups, -1);
        double count = xHatGrouped.shape[2];
        var groupSum = dxHat.sum(2, keepdim: true);
        var groupDot = dxHat.mul(xHatGrouped).sum(2, keepdim: true);
        var dx = dxHat.add_(groupSum, alpha: -1.0 / count).addcmul_(xHatGrouped, groupDot, -1.0 / count).mul_(invStd).view(shape);
        scope.MoveToOuter(dx, dGamma, dBeta);
        return [dx, dGamma, dBeta, null!, null!];
    }
}

/// <summary>
/// Inverted dropout with DROP probability p (PyTorch/ECE meaning): out = x * mask, mask = [U >= p]/(1-p),
/// drawn from the caller's generator. Arguments: x, p (double), generator. Backward: dout * mask.
/// </summary>
internal sealed class InvertedDropoutFunction : autograd.SingleTensorFunction<InvertedDropoutFunction>
{
    public override string Name => nameof(InvertedDropoutFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var p = (double)vars[1];
        var generator = (Generator)vars[2];

        using var scope = NewDisposeScope();
        var mask = empty_like(x).bernoulli_(1 - p, generator).div_(1 - p);
        var output = x.mul(mask);
        ctx.save_for_backward([mask]);
        scope.MoveToOuter(mask);
        return scope.MoveToOuter(output);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var mask = ctx.get_saved_variables()[0];
        var dx = gradOutput.mul(mask);
        scope.MoveToOuter(dx);
        return [dx, null!, null!];
    }
}
