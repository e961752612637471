namespace Sweep.Models.Networks;

/// <summary>
/// FullyConnectedNet of docs/seed-formulas.md §3.1: {affine - [batchnorm|layernorm] - ReLU - [dropout]} x (L-1) - affine,
/// with L = HiddenDims.Count + 1. Weights ~ N(0, WeightScale^2), zero biases, gamma 1, beta 0.
/// </summary>
public sealed record FullyConnectedNetSpec : ModelSpec
{
    public FullyConnectedNetSpec(IReadOnlyList<int> hiddenDims) => HiddenDims = hiddenDims;

    public IReadOnlyList<int> HiddenDims { get => _hiddenDims; init => _hiddenDims = value.ToArray(); }
    private readonly int[] _hiddenDims = [];

    /// <summary>None, BatchNorm or LayerNorm (GroupNorm has no meaning for (N, D) activations).</summary>
    public Normalization Normalization { get; init; } = Normalization.None;

    /// <summary>
    /// DROP probability (PyTorch and ECE meaning) of the dropout after every hidden ReLU; 0 = no dropout layer.
    /// A CS231n <c>dropout_keep_ratio</c> k is <c>Dropout = 1 - k</c>.
    /// </summary>
    public double Dropout { get; init; }

    public double WeightScale { get; init; } = 1e-2;

    public override void Validate()
    {
        base.Validate();
        if (HiddenDims.Any(d => d <= 0))
            throw new ArgumentException($"hidden_dims {Join(HiddenDims)} is invalid; every hidden layer needs a positive width");
        if (Normalization == Normalization.GroupNorm)
            throw new ArgumentException("normalization groupnorm is not available for the fc model; use none, batchnorm or layernorm");
        ValidateDropout(Dropout);
        ValidateWeightScale(WeightScale);
    }

    public bool Equals(FullyConnectedNetSpec? other) =>
        other is not null && base.Equals(other) && SequenceEqual(HiddenDims, other.HiddenDims) &&
        Normalization == other.Normalization && Dropout.Equals(other.Dropout) && WeightScale.Equals(other.WeightScale);

    public override int GetHashCode() =>
        HashCode.Combine(base.GetHashCode(), SequenceHash(HiddenDims), Normalization, Dropout, WeightScale);

    public override string ToString() =>
        $"fc(hidden_dims={Join(HiddenDims)}, normalization={Normalization}, dropout={Dropout}, weight_scale={WeightScale}, reg={Reg}, dtype={DType}, layers={Layers})";
}
