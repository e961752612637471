using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sweep.Models.Networks;

/// <summary>
/// The seeds' ThreeLayerConvNet (docs/seed-formulas.md §3.3): conv(same) - ReLU - 2x2 max pool - affine - ReLU - affine,
/// every weight ~ N(0, ws^2), every bias zero. The flatten order is (F, H/2, W/2), as in the seeds.
/// </summary>
public sealed class ThreeLayerConvNet : ClassifierModel
{
    private Conv2d conv1;
    private Linear fc1;
    private Linear fc2;
    private readonly ThreeLayerConvNetSpec spec;

    internal ThreeLayerConvNet(ThreeLayerConvNetSpec spec, Generator initGenerator) : base(nameof(ThreeLayerConvNet))
    {
        this.spec = spec;
        conv1 = nn.Conv2d(spec.InputChannels, spec.NumFilters, spec.FilterSize, padding: spec.Padding, dtype: spec.DType);
        var flat = (long)spec.NumFilters * (spec.InputHeight / 2) * (spec.InputWidth / 2);
        fc1 = nn.Linear(flat, spec.HiddenDim, dtype: spec.DType);
        fc2 = nn.Linear(spec.HiddenDim, spec.NumClasses, dtype: spec.DType);
        LayerFactory.InitNormal(conv1.weight, conv1.bias, spec.WeightScale, initGenerator);
        LayerFactory.InitNormal(fc1.weight, fc1.bias, spec.WeightScale, initGenerator);
        LayerFactory.InitNormal(fc2.weight, fc2.bias, spec.WeightScale, initGenerator);
        RegisterComponents();
    }

    public override ModelSpec Spec => spec;

    public override IReadOnlyList<Tensor> RegularizedWeights => [conv1.weight, fc1.weight, fc2.weight];

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = ToModelType(input, spec.DType);
        x = nn.functional.relu(conv1.forward(x));
        x = nn.functional.max_pool2d(x, 2, 2).flatten(1);
        x = nn.functional.relu(fc1.forward(x));
        return scope.MoveToOuter(fc2.forward(x));
    }

    public override Tensor RegularizationLoss() =>
        L2Penalty(RegularizedWeights, spec.Reg, spec.DType, conv1.weight.device);
}
