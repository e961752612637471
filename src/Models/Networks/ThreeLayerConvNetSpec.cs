namespace Sweep.Models.Networks;

/// <summary>
/// ThreeLayerConvNet of docs/seed-formulas.md §3.3: conv(same padding, stride 1) - ReLU - 2x2 max pool - affine - ReLU - affine.
/// All weights ~ N(0, WeightScale^2), all biases zero. Defaults are the seed's.
/// </summary>
public sealed record ThreeLayerConvNetSpec : ModelSpec
{
    public int NumFilters { get; init; } = 32;
    public int FilterSize { get; init; } = 7;
    public int HiddenDim { get; init; } = 100;
    public double WeightScale { get; init; } = 1e-3;

    /// <summary>"Same" padding, with integer division as the seed intends.</summary>
    public int Padding => (FilterSize - 1) / 2;

    public override void Validate()
    {
        base.Validate();
        if (NumFilters <= 0)
            throw new ArgumentException($"num_filters {NumFilters} is invalid; use a positive count");
        if (FilterSize <= 0 || FilterSize % 2 == 0)
            throw new ArgumentException($"filter_size {FilterSize} is invalid; use a positive odd size so that 'same' padding keeps H and W");
        if (HiddenDim <= 0)
            throw new ArgumentException($"hidden_dim {HiddenDim} is invalid; use a positive width");
        if (InputHeight % 2 != 0 || InputWidth % 2 != 0)
            throw new ArgumentException($"input {InputHeight}x{InputWidth} cannot go through the 2x2 max pool exactly; use even height and width");
        ValidateWeightScale(WeightScale);
    }

    public override string ToString() =>
        $"three_layer_convnet(num_filters={NumFilters}, filter_size={FilterSize}, hidden_dim={HiddenDim}, weight_scale={WeightScale}, reg={Reg}, dtype={DType}, layers={Layers})";
}
