using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sweep.Models.Networks;

/// <summary>
/// The seeds' FullyConnectedNet (docs/seed-formulas.md §3.1): {affine - [norm] - ReLU - [dropout]} x (L-1) - affine.
/// Affine weights are stored PyTorch-style as (out, in), the transpose of the seeds' (in, out).
/// </summary>
public sealed class FullyConnectedNet : ClassifierModel
{
    private ModuleList<Linear> affine;
    private ModuleList<nn.Module<Tensor, Tensor>> norm;
    private nn.Module<Tensor, Tensor>? dropout;
    private readonly FullyConnectedNetSpec spec;

    internal FullyConnectedNet(FullyConnectedNetSpec spec, Generator initGenerator, Generator dropoutGenerator) : base(nameof(FullyConnectedNet))
    {
        this.spec = spec;
        DropoutGenerator = dropoutGenerator;
        var dims = new List<int> { spec.InputDim };
        dims.AddRange(spec.HiddenDims);
        dims.Add(spec.NumClasses);

        affine = new ModuleList<Linear>();
        norm = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (var i = 0; i + 1 < dims.Count; i++)
        {
            var layer = nn.Linear(dims[i], dims[i + 1], dtype: spec.DType);
            LayerFactory.InitNormal(layer.weight, layer.bias, spec.WeightScale, initGenerator);
            affine.Add(layer);
            if (i + 2 < dims.Count && spec.Normalization != Normalization.None)
                norm.Add(LayerFactory.FeatureNorm(spec.Normalization, spec.Layers, dims[i + 1], spec.DType));
        }
        if (spec.Dropout > 0)
            dropout = LayerFactory.Dropout(spec.Dropout, spec.Layers, dropoutGenerator);
        RegisterComponents();
    }

    public override ModelSpec Spec => spec;

    public override IReadOnlyList<Tensor> RegularizedWeights => affine.Select(l => (Tensor)l.weight).ToList();

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = ToModelType(input, spec.DType).flatten(1);
        var hidden = affine.Count - 1;
        for (var i = 0; i < hidden; i++)
        {
            x = affine[i].forward(x);
            if (norm.Count > 0)
                x = norm[i].forward(x);
            x = nn.functional.relu(x);
            if (dropout is not null)
                x = dropout.forward(x);
        }
        return scope.MoveToOuter(affine[hidden].forward(x));
    }

    public override Tensor RegularizationLoss() =>
        L2Penalty(affine.Select(l => (Tensor)l.weight), spec.Reg, spec.DType, affine[0].weight.device);
}
