using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Layers;

// Hand-written autograd for the normalization layers of digest §2. Each forward saves x_hat (batch
// norm: the centered input, x_hat before its per-feature scale) and inv_std, never x, and each backward
// is the simplified "alternative" formula
//     dx = inv_std/M * (M*dxhat - sum(dxhat) - x_hat * sum(dxhat * x_hat)),  dxhat = dout * gamma.
// Statistics are two-pass (mean, then the squared norm of the centered values): exact where
// E[x^2] - mean^2 would cancel, and far faster than torch's Welford var_mean on CPU. Sums run over
// contiguous rows (Reductions) so that no full-size product is materialized just to be summed.
// Intermediates live in a dispose scope so a training step frees them as soon as they are used.

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
        public Tensor FeatureSum(Tensor t) =>
            Plane == 1 ? t.sum(0L) : Reductions.PlaneSum(t, Batch, Features, Plane);

        /// <summary>Per-feature dot product of two same-shaped tensors, shape (F,).</summary>
        public Tensor FeatureDot(Tensor u, Tensor v) =>
            Plane == 1 ? Reductions.ColumnDot(u, v, Batch, Features) : Reductions.PlaneDot(u, v, Batch, Features, Plane);
    }
}

/// <summary>
/// Reductions of contiguous tensors laid out as rows, planes or columns, shaped so that libtorch reduces
/// over the innermost, contiguous axis and dot products never materialize the full-size product.
/// </summary>
internal static class Reductions
{
    /// <summary>Dot product of each of the <paramref name="rows"/> rows of u and v (viewed (rows, length)); shape (rows,).</summary>
    public static Tensor RowDot(Tensor u, Tensor v, long rows, long length)
    {
        using var dots = u.view(rows, 1, length).bmm(v.view(rows, length, 1));
        return dots.view(rows);
    }

    /// <summary>Dot product of each column of u and v viewed (rows, columns); shape (columns,).</summary>
    public static Tensor ColumnDot(Tensor u, Tensor v, long rows, long columns)
    {
        using var product = u.mul(v);
        return product.sum(0L);
    }

    /// <summary>Per-channel sum of an (N, C, plane) tensor over N and the plane; shape (C,).</summary>
    public static Tensor PlaneSum(Tensor t, long batch, long channels, long plane)
    {
        using var sums = t.view(batch * channels, plane).sum(1L);
        return sums.view(batch, channels).sum(0L);
    }

    /// <summary>Per-channel dot product of two (N, C, plane) tensors over N and the plane; shape (C,).</summary>
    public static Tensor PlaneDot(Tensor u, Tensor v, long batch, long channels, long plane)
    {
        using var dots = RowDot(u, v, batch * channels, plane);
        return dots.view(batch, channels).sum(0L);
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
        var features = x.shape[1];
        var xHat = x.sub(x.mean([1L], keepdim: true));
        var invStd = Reductions.RowDot(xHat, xHat, x.shape[0], features).div_(features).add_(eps).rsqrt_().view(-1, 1);
        xHat.mul_(invStd);
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
        var (rows, features) = (xHat.shape[0], xHat.shape[1]);

        var dBeta = gradOutput.sum(0L);
        var dGamma = Reductions.ColumnDot(gradOutput, xHat, rows, features);
        var dxHat = gradOutput.mul(gamma);
        var rowSum = dxHat.sum(1, keepdim: true);
        var rowDot = Reductions.RowDot(dxHat, xHat, rows, features).view(-1, 1);
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
        var grouped = x.reshape(shape[0] * groups, -1);
        var (rows, length) = (grouped.shape[0], grouped.shape[1]);
        var centered = grouped.sub(grouped.mean([1L], keepdim: true));
        var invStd = Reductions.RowDot(centered, centered, rows, length).div_(length).add_(eps).rsqrt_().view(-1, 1);
        var xHat = centered.mul_(invStd).view(shape);
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

        var (batch, channels, plane) = (shape[0], shape[1], shape[2] * shape[3]);
        var dout = gradOutput.contiguous();

        var dBeta = Reductions.PlaneSum(dout, batch, channels, plane);
        var dGamma = Reductions.PlaneDot(dout, xHat, batch, channels, plane);
        var rows = batch * groups;
        var dxHat = dout.mul(gamma.view(1, channels, 1, 1)).view(rows, -1);
        var xHatGrouped = xHat.view(rows, -1);
        var length = xHatGrouped.shape[1];
        var groupSum = dxHat.sum(1, keepdim: true);
        var groupDot = Reductions.RowDot(dxHat, xHatGrouped, rows, length).view(-1, 1);
        var dx = dxHat.add_(groupSum, alpha: -1.0 / length).addcmul_(xHatGrouped, groupDot, -1.0 / length).mul_(invStd).view(shape);
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
