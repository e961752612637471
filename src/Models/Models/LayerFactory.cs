using Sweep.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Models;

/// <summary>
/// Builds the normalization and dropout layers of a model in the implementation the spec asks for, and
/// initializes weights from an explicit generator (never the process-global one).
/// </summary>
internal static class LayerFactory
{
    public static nn.Module<Tensor, Tensor> FeatureNorm(Normalization normalization, LayerImplementation layers, long features, ScalarType dtype) =>
        (normalization, layers) switch
        {
            (Normalization.BatchNorm, LayerImplementation.Sweep) => new BatchNorm(features, dtype: dtype),
            (Normalization.LayerNorm, LayerImplementation.Sweep) => new Layers.LayerNorm(features, dtype: dtype),
            (Normalization.BatchNorm, LayerImplementation.BuiltIn) => nn.BatchNorm1d(features, dtype: dtype),
            (Normalization.LayerNorm, LayerImplementation.BuiltIn) => nn.LayerNorm(features, dtype: dtype),
            _ => throw new ArgumentException($"normalization {normalization} is not available for (N, D) activations; use none, batchnorm or layernorm"),
        };

    public static nn.Module<Tensor, Tensor> SpatialNorm(Normalization normalization, LayerImplementation layers, long channels, long groups, ScalarType dtype)
    {
        switch (normalization, layers)
        {
            case (Normalization.BatchNorm, LayerImplementation.Sweep):
                return new SpatialBatchNorm(channels, dtype: dtype);
            case (Normalization.GroupNorm, LayerImplementation.Sweep):
                return new SpatialGroupNorm(groups, channels, dtype: dtype);
            case (Normalization.BatchNorm, LayerImplementation.BuiltIn):
                return nn.BatchNorm2d(channels, dtype: dtype);
            case (Normalization.GroupNorm, LayerImplementation.BuiltIn):
                // TorchSharp's GroupNorm starts with uninitialized affine parameters (NaN loss from step 0).
                var groupNorm = nn.GroupNorm(groups, channels, dtype: dtype);
                using (no_grad())
                {
                    using var one = 1.0.ToScalar(); // kept alive across the call, see KeptScalars
                    groupNorm.weight.fill_(one);
                    groupNorm.bias!.zero_();
                }
                return groupNorm;
            default:
                throw new ArgumentException($"normalization {normalization} is not available after a conv; use none, batchnorm or groupnorm");
        }
    }

    public static nn.Module<Tensor, Tensor> Dropout(double dropProbability, LayerImplementation layers, Generator generator) =>
        layers == LayerImplementation.Sweep
            ? new InvertedDropout(dropProbability, generator)
            : nn.Dropout(dropProbability);

    /// <summary>Seed convention: weights ~ N(0, ws^2), biases zero (digest §3.1, §3.3).</summary>
    public static void InitNormal(Tensor weight, Tensor? bias, double weightScale, Generator generator)
    {
        using var _ = no_grad();
        weight.normal_(0, weightScale, generator);
        bias?.zero_();
    }

    /// <summary>
    /// PyTorch's default Linear/Conv init: kaiming_uniform(a = sqrt 5) on the weight, which is U(+-1/sqrt(fan_in)),
    /// and U(+-1/sqrt(fan_in)) on the bias; fan_in = in_features, or in_channels * kH * kW for a conv.
    /// </summary>
    public static void InitPyTorchDefault(Tensor weight, Tensor? bias, Generator generator)
    {
        using var _ = no_grad();
        long fanIn = 1;
        for (var i = 1; i < weight.dim(); i++) fanIn *= weight.shape[i];
        var bound = 1.0 / Math.Sqrt(fanIn);
        weight.uniform_(-bound, bound, generator);
        bias?.uniform_(-bound, bound, generator);
    }
}
