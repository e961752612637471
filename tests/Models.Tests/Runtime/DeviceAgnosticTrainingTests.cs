using Sweep.Models.Layers;
using Sweep.Models.Networks;
using Sweep.Models.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Runtime;

/// <summary>
/// The hand-written autograd layers and the models built from them must run on whatever device a slot
/// trains on. There is no GPU here, so they run on <c>meta</c>: a device with shapes and dtypes but no
/// data, where any op that needs the values on the host (item(), a CPU-only kernel, a host tensor mixed
/// in) fails. Forward and backward of each layer go through the same code path as on CPU or CUDA.
/// </summary>
public class DeviceAgnosticTrainingTests
{
    public static TheoryData<string> Layers => ["batchnorm", "spatial_batchnorm", "layernorm", "spatial_groupnorm", "dropout"];

    [Theory]
    [MemberData(nameof(Layers))]
    public void Each_hand_written_layer_trains_and_evaluates_on_meta(string name)
    {
        using var scope = NewDisposeScope();
        var spatial = name.StartsWith("spatial", StringComparison.Ordinal);
        using var generator = new Generator(3, META);
        nn.Module<Tensor, Tensor> layer = name switch
        {
            "batchnorm" => new BatchNorm(6, device: META),
            "spatial_batchnorm" => new SpatialBatchNorm(4, device: META),
            "layernorm" => new Sweep.Models.Layers.LayerNorm(6, device: META),
            "spatial_groupnorm" => new SpatialGroupNorm(2, 4, device: META),
            "dropout" => new InvertedDropout(0.3, generator),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        using var _ = layer;
        var x = (spatial ? randn([5, 4, 3, 3], device: META) : randn([5, 6], device: META)).requires_grad_(true);

        layer.train();
        var output = layer.call(x);
        output.backward([ones_like(output)]);
        Assert.Equal(DeviceType.META, output.device.type);
        Assert.Equal(x.shape, output.shape);
        Assert.NotNull(x.grad);
        Assert.Equal(DeviceType.META, x.grad!.device.type);
        foreach (var p in layer.parameters())
            Assert.Equal(DeviceType.META, p.grad!.device.type);

        layer.eval();
        using (no_grad())
            Assert.Equal(x.shape, layer.call(x).shape);
    }

    public static TheoryData<string> SeedModels => ["fc", "three_layer", "cnn", "groupnorm_cnn"];

    // Whole models cannot step on meta: this libtorch has no meta kernel for the built-in relu and conv2d.
    // What a model adds to its layers is where its tensors live, so that is checked here.
    [Theory]
    [MemberData(nameof(SeedModels))]
    public void Each_seed_model_built_for_a_device_keeps_every_parameter_and_buffer_there(string name)
    {
        ModelSpec spec = name switch
        {
            "fc" => new FullyConnectedNetSpec([20, 20]) { Normalization = Normalization.BatchNorm, Dropout = 0.2, Reg = 1e-3 },
            "three_layer" => new ThreeLayerConvNetSpec { NumFilters = 4, HiddenDim = 10, Reg = 1e-3 },
            "cnn" => ConvNetSpec.Challenge with { Dropout = 0.1, HiddenDims = [16] },
            "groupnorm_cnn" => new ConvNetSpec([4, 4], [1, 2], []) { Normalization = Normalization.GroupNorm, Groups = 2 },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        using var model = ModelFactory.Create(spec, META, seed: 1);
        Assert.NotEmpty(model.parameters());
        Assert.All(model.parameters(), p => Assert.Equal(DeviceType.META, p.device.type));
        Assert.All(model.buffers(), b => Assert.Equal(DeviceType.META, b.device.type));
        using var penalty = model.RegularizationLoss();
        Assert.Equal(DeviceType.META, penalty.device.type);
    }

    [Fact]
    public void Devices_are_keyed_by_identity()
    {
        Assert.Equal("cpu", TorchDevices.Key(CPU));
        Assert.Equal("cuda:0", TorchDevices.Key(new Device(DeviceType.CUDA, -1)));
        Assert.Equal("cuda:0", TorchDevices.Key(new Device(DeviceType.CUDA, 0)));
        Assert.Equal("cuda:1", TorchDevices.Key(new Device(DeviceType.CUDA, 1)));
        Assert.Equal("meta", TorchDevices.Key(META));
    }
}
