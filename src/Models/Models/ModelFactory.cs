using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Models;

/// <summary>
/// Builds a <see cref="ClassifierModel"/> from its spec. Initialization draws from a CPU generator seeded
/// with <c>seed</c> (so a seed gives the same weights on every device), dropout masks from a second
/// generator on the model's device derived from the same seed; the process-global torch RNG is never used
/// for anything a trial depends on.
/// </summary>
public static class ModelFactory
{
    public static ClassifierModel Create(ModelSpec spec, Device device, long seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        using var initGenerator = new Generator(unchecked((ulong)seed), CPU);
        ClassifierModel model = spec switch
        {
            FullyConnectedNetSpec fc => new FullyConnectedNet(fc, initGenerator, DropoutGenerator(seed, device)),
            ThreeLayerConvNetSpec three => new ThreeLayerConvNet(three, initGenerator),
            ConvNetSpec convnet => new ConvNet(convnet, initGenerator, DropoutGenerator(seed, device)),
            _ => throw new ArgumentException($"model spec {spec.GetType().Name} is not supported; use FullyConnectedNetSpec, ThreeLayerConvNetSpec or ConvNetSpec"),
        };
        if (device.type != DeviceType.CPU)
            model.to(device);
        model.train();
        return model;
    }

    private static Generator DropoutGenerator(long seed, Device device) => new(DeriveSeed(seed, stream: 1), device);

    /// <summary>SplitMix64 of (seed, stream): independent, reproducible seeds for a trial's separate random streams.</summary>
    internal static ulong DeriveSeed(long seed, ulong stream)
    {
        var z = unchecked((ulong)seed + 0x9E3779B97F4A7C15UL * (stream + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
