using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sweep.Models.Networks;

/// <summary>
/// [conv3x3(same) - norm - ReLU] x K with a 2x2 max pool after the listed convs, then
/// [affine - ReLU - dropout] x M and a final affine; <see cref="ConvNetSpec.Challenge"/> is the challenge CNN of docs/seed-formulas.md §3.4.
/// </summary>
public sealed class ConvNet : ClassifierModel
{
    private ModuleList<Conv2d> conv;
    private ModuleList<nn.Module<Tensor, Tensor>> norm;
    private ModuleList<Linear> fc;
    private nn.Module<Tensor, Tensor>? dropout;
    private readonly ConvNetSpec spec;
    private readonly bool[] poolAfter;

    internal ConvNet(ConvNetSpec spec, Generator initGenerator, Generator dropoutGenerator) : base(nameof(ConvNet))
    {
        this.spec = spec;
        DropoutGenerator = dropoutGenerator;
        conv = new ModuleList<Conv2d>();
        norm = new ModuleList<nn.Module<Tensor, Tensor>>();
        fc = new ModuleList<Linear>();
        poolAfter = new bool[spec.ConvChannels.Count];
        foreach (var p in spec.PoolAfter) poolAfter[p - 1] = true;

        long inChannels = spec.InputChannels;
        foreach (var channels in spec.ConvChannels)
        {
            var layer = nn.Conv2d(inChannels, channels, 3, padding: 1, dtype: spec.DType);
            Init(layer.weight, layer.bias, initGenerator);
            conv.Add(layer);
            if (spec.Normalization != Normalization.None)
                norm.Add(LayerFactory.SpatialNorm(spec.Normalization, spec.Layers, channels, spec.Groups, spec.DType));
            inChannels = channels;
        }

        var (height, width) = spec.OutputSize;
        var dims = new List<long> { inChannels * height * width };
        dims.AddRange(spec.HiddenDims.Select(d => (long)d));
        dims.Add(spec.NumClasses);
        for (var i = 0; i + 1 < dims.Count; i++)
        {
            var layer = nn.Linear(dims[i], dims[i + 1], dtype: spec.DType);
            Init(layer.weight, layer.bias, initGenerator);
            fc.Add(layer);
        }
        if (spec.Dropout > 0 && spec.HiddenDims.Count > 0)
            dropout = LayerFactory.Dropout(spec.Dropout, spec.Layers, dropoutGenerator);
        RegisterComponents();
    }

    private void Init(Tensor weight, Tensor? bias, Generator generator)
    {
        if (spec.WeightScale is { } ws)
            LayerFactory.InitNormal(weight, bias, ws, generator);
        else
            LayerFactory.InitPyTorchDefault(weight, bias, generator);
    }

    public override ModelSpec Spec => spec;

    public override IReadOnlyList<Tensor> RegularizedWeights =>
        conv.Select(c => (Tensor)c.weight).Concat(fc.Select(l => (Tensor)l.weight)).ToList();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = ToModelType(input, spec.DType);
        for (var i = 0; i < conv.Count; i++)
        {
            x = conv[i].forward(x);
            if (norm.Count > 0)
                x = norm[i].forward(x);
            x = nn.functional.relu(x);
            if (poolAfter[i])
                x = nn.functional.max_pool2d(x, 2, 2);
        }
        x = x.flatten(1);
        var hidden = fc.Count - 1;
        for (var i = 0; i < hidden; i++)
        {
            x = nn.functional.relu(fc[i].forward(x));
            if (dropout is not null)
                x = dropout.forward(x);
        }
        return scope.MoveToOuter(fc[hidden].forward(x));
    }

    public override Tensor RegularizationLoss() =>
        L2Penalty(RegularizedWeights, spec.Reg, spec.DType, conv[0].weight.device);
}
