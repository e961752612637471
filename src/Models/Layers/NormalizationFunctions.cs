using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Layers;

// Hand-written autograd for the normalization layers of digest §2. Layer and group norm save x_hat and
// inv_std, batch norm saves x, its mean and inv_std (see its remarks), and each backward is the
// simplified "alternative" formula
//     dx = inv_std/M * (M*dxhat - sum(dxhat) - x_hat * sum(dxhat * x_hat)),  dxhat = dout * gamma.
// Statistics are two-pass (mean, then the squared norm of the centered values): exact where
// E[x^2] - mean^2 would cancel, and far faster than torch's Welford var_mean on CPU.
// Intermediates live in a dispose scope so a training step frees them as soon as they are used.
// Number arguments go through KeptScalars (a TorchSharp 0.107 Scalar-lifetime defect), and no function
// calls ctx.mark_non_differentiable or mark_dirty (a TorchSharp 0.107 pinning defect, see BatchNormFunction).
// The functions keep no state in fields: TorchSharp shares one instance per function type between threads.

/// <summary>Receives the batch statistics of one <see cref="BatchNormFunction"/> apply (a non-tensor argument, so not an autograd input).</summary>
internal sealed class BatchStatistics
{
    public Tensor? Mean { get; set; }
    public Tensor? Variance { get; set; }
}

/// <summary>
/// Train-mode batch norm of (N, D) (statistics per feature over N) or (N, C, H, W) (per channel over
/// N, H, W). Arguments: x, gamma, beta (shape (F,)), eps (double), a <see cref="BatchStatistics"/> that
/// receives the batch mean and biased batch variance (shape (F,), no autograd history) for the caller's
/// running averages. Returns the normalized output only.
/// </summary>
/// <remarks>
/// Saved for backward: x, the batch mean and inv_std; x_hat = (x - mean) * inv_std is never stored.
/// Saving x_hat would need a second full-size buffer next to the output; saving x (which the autograd
/// graph keeps alive anyway, as TorchSharp's BatchNorm2d does) lets the forward pass turn its centered
/// temporary into the output in place, and the backward pass folds the centering into per-feature
/// constants, so each pass allocates exactly one full-size tensor, like the built-in kernels.
/// Measured per op on the challenge CNN's largest activation (bench bn-layer): reductions over (0, 2, 3)
/// and row norms are cheap, while bmm-based dots, var_mean, vector_norm over (0, 2, 3) and an
/// out-of-place addcmul whose first operand is the broadcast one are several times slower than a plain
/// product, so the passes below avoid them.
/// The statistics leave through the holder argument, not as extra outputs: TorchSharp 0.107's
/// Node.WrapOutputs builds the mark_non_differentiable handle array and then the mark_dirty one in the
/// same PinnedArray, which unpins the first before native code reads it, so a function that calls
/// ctx.mark_non_differentiable (or mark_dirty) segfaults in THSAutograd_Function_wrapOutputs when the GC
/// moves that array. No function here calls either.
/// </remarks>
internal sealed class BatchNormFunction : autograd.SingleTensorFunction<BatchNormFunction>
{
    public override string Name => nameof(BatchNormFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = ((Tensor)vars[0]).contiguous();
        var gamma = (Tensor)vars[1];
        var beta = (Tensor)vars[2];
        var eps = (double)vars[3];
        var statistics = (BatchStatistics)vars[4];

        using var scope = NewDisposeScope();
        var layout = FeatureLayout.Of(x);
        var mean = layout.Sum(x).Divide_(layout.Count);
        // Two-pass variance: exact where E[x^2] - mean^2 would cancel.
        var output = x.sub(layout.Broadcast(mean));
        var variance = layout.SquaredNorm(output).Divide_(layout.Count);
        var invStd = variance.Shift(eps).rsqrt_();
        output.mul_(layout.Broadcast(gamma.mul(invStd))).Accumulate_(layout.Broadcast(beta));
        ctx.save_for_backward([x, mean, invStd, gamma]);
        // forward runs with autograd off, so the statistics carry no history. The mean is a copy:
        // the saved one must not be touched by whatever the caller does with its statistics.
        statistics.Mean = mean.clone();
        statistics.Variance = variance;
        scope.MoveToOuter(x, mean, invStd);
        scope.MoveToOuter(statistics.Mean, statistics.Variance);
        return scope.MoveToOuter(output);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var contiguousGrad = gradOutput.contiguous();
        var saved = ctx.get_saved_variables();
        var (x, mean, invStd, gamma) = (saved[0], saved[1], saved[2], saved[3]);
        var layout = FeatureLayout.Of(x);

        var dBeta = layout.Sum(contiguousGrad);
        // dx's buffer first holds dout * x, whose per-feature sums give
        // dGamma = sum(dout * x_hat) = inv_std * (sum(dout * x) - mean * dBeta).
        var dx = contiguousGrad.mul(x);
        var dGamma = layout.Sum(dx).sub_(mean.mul(dBeta)).mul_(invStd);
        // Alt backward, dx = k*dout - k/M*(dBeta + x_hat*dGamma) with k = gamma*inv_std, written as
        // dx = k*dout + a*x + c with per-feature a = -k*inv_std*dGamma/M and c = -k*dBeta/M - a*mean.
        var k = gamma.mul(invStd);
        var a = k.mul(invStd).mul_(dGamma).Scale_(-1.0 / layout.Count);
        var c = k.mul(dBeta).Scale_(-1.0 / layout.Count).sub_(a.mul(mean));
        dx.copy_(contiguousGrad).mul_(layout.Broadcast(k)).Accumulate_(layout.Broadcast(c)).AddProduct_(x, layout.Broadcast(a), 1);
        scope.MoveToOuter(dx, dGamma, dBeta);
        return [dx, dGamma, dBeta, null!, null!];
    }

    /// <summary>Per-feature reductions of an (N, D) or contiguous (N, C, H, W) tensor, each of shape (F,).</summary>
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

        private long[] Axes => Plane == 1 ? [0] : [0, 2, 3];

        /// <summary>A (F,) tensor viewed to broadcast against the input.</summary>
        public Tensor Broadcast(Tensor perFeature) =>
            Plane == 1 ? perFeature.view(1, Features) : perFeature.view(1, Features, 1, 1);

        public Tensor Sum(Tensor t) => t.sum(Axes);

        /// <summary>
        /// Per-feature sum of squares. For images as norms of each contiguous H*W plane (no full-size
        /// temporary); for (N, D) a norm down the columns is 8x slower than squaring and summing.
        /// </summary>
        public Tensor SquaredNorm(Tensor t)
        {
            if (Plane == 1)
            {
                using var squares = t.mul(t);
                return squares.sum(0L);
            }
            using var planes = Reductions.RowSquaredNorm(t, Batch * Features, Plane);
            return planes.view(Batch, Features).sum(0L);
        }
    }
}

/// <summary>Row-wise reductions of contiguous tensors viewed as (rows, length), each of shape (rows,).</summary>
internal static class Reductions
{
    /// <summary>Sum of squares of each row, via a norm over the contiguous axis (no full-size temporary).</summary>
    /// <remarks>Tensor.norm takes its order as a float; linalg.vector_norm would pass it as an unkept Scalar (see <see cref="KeptScalars"/>).</remarks>
    public static Tensor RowSquaredNorm(Tensor t, long rows, long length)
    {
        using var view = t.view(rows, length);
        var norms = view.norm(1, keepdim: false, p: 2f);
        return norms.mul_(norms);
    }

    /// <summary>Dot product of each row of u with the same row of v.</summary>
    public static Tensor RowDot(Tensor u, Tensor v, long rows, long length)
    {
        using var product = u.mul(v);
        using var view = product.view(rows, length);
        return view.sum(1L);
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
        var invStd = Reductions.RowSquaredNorm(xHat, x.shape[0], features).Divide_(features).Shift_(eps).rsqrt_().view(-1, 1);
        xHat.mul_(invStd);
        var output = xHat.mul(gamma).Accumulate_(beta);
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
        var dGamma = gradOutput.mul(xHat).sum(0L);
        var dxHat = gradOutput.mul(gamma);
        var rowSum = dxHat.sum(1, keepdim: true);
        var rowDot = Reductions.RowDot(dxHat, xHat, rows, features).view(-1, 1);
        // dx = inv*(dxhat - rowSum/D - x_hat*rowDot/D), reusing dxhat's buffer.
        var dx = dxHat.Accumulate_(rowSum, -1.0 / features).AddProduct_(xHat, rowDot, -1.0 / features).mul_(invStd);
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
        var invStd = Reductions.RowSquaredNorm(centered, rows, length).Divide_(length).Shift_(eps).rsqrt_().view(-1, 1);
        var xHat = centered.mul_(invStd).view(shape);
        var channel = new long[] { 1, shape[1], 1, 1 };
        var output = xHat.mul(gamma.view(channel)).Accumulate_(beta.view(channel));
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

        var (batch, channels) = (shape[0], shape[1]);
        var dout = gradOutput.contiguous();

        long[] channelAxes = [0, 2, 3];
        var dBeta = dout.sum(channelAxes);
        var dGamma = dout.mul(xHat).sum(channelAxes);
        var rows = batch * groups;
        var dxHat = dout.mul(gamma.view(1, channels, 1, 1)).view(rows, -1);
        var xHatGrouped = xHat.view(rows, -1);
        var length = xHatGrouped.shape[1];
        var groupSum = dxHat.sum(1, keepdim: true);
        var groupDot = Reductions.RowDot(dxHat, xHatGrouped, rows, length).view(-1, 1);
        var dx = dxHat.Accumulate_(groupSum, -1.0 / length).AddProduct_(xHatGrouped, groupDot, -1.0 / length).mul_(invStd).view(shape);
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
        var mask = empty_like(x).bernoulli_(1 - p, generator).Divide_(1 - p);
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
