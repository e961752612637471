using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Layers;

// Hand-written autograd for the normalization layers of digest §2. Each forward saves x_hat and
// inv_std (never x) and each backward is the simplified "alternative" formula
//     dx = inv_std/M * (M*dxhat - sum(dxhat) - x_hat * sum(dxhat * x_hat)),  dxhat = dout * gamma,
// evaluated as two fused passes over the activations. Intermediates live in a dispose scope so that
// a training step frees them as soon as they are used; only the returned gradients leave it.

/// <summary>
/// Train-mode batch norm over the reduction axes of <c>x</c> (axis 0 for (N, D); axes 0, 2, 3 for
/// (N, C, H, W)), given batch statistics computed by the caller. Arguments: x, gamma, beta (shape (F,)),
/// mean and var (biased, keepdim shape, no grad), eps (double), reduction axes (long[]). Returns the output.
/// </summary>
internal sealed class BatchNormFunction : autograd.SingleTensorFunction<BatchNormFunction>
{
    public override string Name => nameof(BatchNormFunction);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var gamma = (Tensor)vars[1];
        var beta = (Tensor)vars[2];
        var mean = (Tensor)vars[3];
        var variance = (Tensor)vars[4];
        var eps = (double)vars[5];
        var axes = (long[])vars[6];

        using var scope = NewDisposeScope();
        var broadcast = mean.shape;
        var invStd = (variance + eps).rsqrt_();
        // x_hat = x*inv_std - mean*inv_std in one pass; out = x_hat*gamma + beta in one more.
        var xHat = addcmul(mean.mul(invStd).neg_(), x, invStd, 1);
        var output = addcmul(beta.view(broadcast), xHat, gamma.view(broadcast), 1);
        ctx.save_for_backward([xHat, invStd, gamma]);
        ctx.save_data("axes", axes);
        scope.MoveToOuter(xHat, invStd);
        return scope.MoveToOuter(output);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var (xHat, invStd, gamma) = (saved[0], saved[1], saved[2]);
        var axes = (long[])ctx.get_data("axes");
        var broadcast = invStd.shape;
        double count = 1;
        foreach (var axis in axes) count *= xHat.shape[axis];

        var dBeta = gradOutput.sum(axes);
        var dGamma = gradOutput.mul(xHat).sum(axes);
        // dx = k*dout + a*x_hat + b with per-feature k = gamma*inv, a = -k*dGamma/M, b = -k*dBeta/M.
        var k = gamma.view(broadcast).mul(invStd);
        var a = dGamma.view(broadcast).mul(k).mul_(-1.0 / count);
        var b = dBeta.view(broadcast).mul(k).mul_(-1.0 / count);
        var dx = addcmul(b, xHat, a, 1).addcmul_(gradOutput, k, 1);
        scope.MoveToOuter(dx, dGamma, dBeta);
        return [dx, dGamma, dBeta, null!, null!, null!, null!];
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
