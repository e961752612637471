using Sweep.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Networks;

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

    private static Generator DropoutGenerator(long seed, Device device) => new(SeedStreams.Derive(seed, SeedStreams.Dropout), device);
}
