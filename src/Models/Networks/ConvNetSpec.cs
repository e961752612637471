namespace Sweep.Models.Networks;

/// <summary>
/// A configurable ConvNet: [conv3x3(same) - norm - ReLU] for each entry of <see cref="ConvChannels"/>, a 2x2
/// max pool (stride 2) after every 1-based conv index listed in <see cref="PoolAfter"/>, then
/// [affine - ReLU - dropout] for each of <see cref="HiddenDims"/> and a final affine to the classes.
/// <see cref="Challenge"/> is the CIFAR-10 challenge CNN of docs/seed-formulas.md §3.4.
/// </summary>
public sealed record ConvNetSpec : ModelSpec
{
    public ConvNetSpec(IReadOnlyList<int> convChannels, IReadOnlyList<int> poolAfter, IReadOnlyList<int> hiddenDims)
    {
        ConvChannels = convChannels;
        PoolAfter = poolAfter;
        HiddenDims = hiddenDims;
    }

    public IReadOnlyList<int> ConvChannels { get => _convChannels; init => _convChannels = value.ToArray(); }
    private readonly int[] _convChannels = [];

    /// <summary>1-based conv indices after which a 2x2 max pool follows.</summary>
    public IReadOnlyList<int> PoolAfter { get => _poolAfter; init => _poolAfter = value.ToArray(); }
    private readonly int[] _poolAfter = [];

    /// <summary>Hidden affine widths after the conv stages; empty = one affine straight to the classes.</summary>
    public IReadOnlyList<int> HiddenDims { get => _hiddenDims; init => _hiddenDims = value.ToArray(); }
    private readonly int[] _hiddenDims = [];

    /// <summary>None, BatchNorm (spatial) or GroupNorm after each conv; LayerNorm is not offered for convs.</summary>
    public Normalization Normalization { get; init; } = Normalization.None;

    /// <summary>Number of contiguous channel groups for GroupNorm; must divide every conv's channel count.</summary>
    public int Groups { get; init; } = 1;

    /// <summary>DROP probability after each hidden affine ReLU (PyTorch meaning); 0 = none.</summary>
    public double Dropout { get; init; }

    /// <summary>
    /// Std of an N(0, ws^2) init for every weight with zero biases, or null for PyTorch's default init
    /// (kaiming_uniform(a=sqrt 5) weights, i.e. U(+-1/sqrt(fan_in)), and U(+-1/sqrt(fan_in)) biases).
    /// </summary>
    public double? WeightScale { get; init; }

    /// <summary>The challenge CNN of docs/seed-formulas.md §3.4: ((conv-BN-ReLU)x2 - maxpool)x2 - affine(4096 -> 10), PyTorch default init.</summary>
    public static ConvNetSpec Challenge { get; } =
        new([32, 32, 64, 64], [2, 4], []) { Normalization = Normalization.BatchNorm };

    /// <summary>Spatial size (H, W) after all pools.</summary>
    public (int Height, int Width) OutputSize
    {
        get
        {
            var pools = PoolAfter.Count;
            return (InputHeight >> pools, InputWidth >> pools);
        }
    }

    public override void Validate()
    {
        base.Validate();
        if (ConvChannels.Count == 0 || ConvChannels.Any(c => c <= 0))
            throw new ArgumentException($"conv_channels {Join(ConvChannels)} is invalid; give at least one positive channel count");
        if (PoolAfter.Any(p => p < 1 || p > ConvChannels.Count) || PoolAfter.Distinct().Count() != PoolAfter.Count)
            throw new ArgumentException($"pool_after {Join(PoolAfter)} is invalid; list distinct 1-based conv indices between 1 and {ConvChannels.Count}");
        var scale = 1 << PoolAfter.Count;
        if (InputHeight % scale != 0 || InputWidth % scale != 0)
            throw new ArgumentException($"input {InputHeight}x{InputWidth} cannot go through {PoolAfter.Count} exact 2x2 max pools; use fewer pool_after entries");
        if (HiddenDims.Any(d => d <= 0))
            throw new ArgumentException($"hidden_dims {Join(HiddenDims)} is invalid; every hidden affine needs a positive width");
        if (Normalization == Normalization.LayerNorm)
            throw new ArgumentException("normalization layernorm is not available for the convnet model; use none, batchnorm or groupnorm");
        if (Normalization == Normalization.GroupNorm)
        {
            if (Groups <= 0)
                throw new ArgumentException($"groups {Groups} is invalid; use a positive number of groups");
            var bad = ConvChannels.FirstOrDefault(c => c % Groups != 0);
            if (bad != 0)
                throw new ArgumentException($"groups {Groups} does not divide conv channel count {bad}; pick groups dividing every entry of conv_channels {Join(ConvChannels)}");
        }
        ValidateDropout(Dropout);
        if (WeightScale is { } ws)
            ValidateWeightScale(ws);
    }

    public bool Equals(ConvNetSpec? other) =>
        other is not null && base.Equals(other) && SequenceEqual(ConvChannels, other.ConvChannels) &&
        SequenceEqual(PoolAfter, other.PoolAfter) && SequenceEqual(HiddenDims, other.HiddenDims) &&
        Normalization == other.Normalization && Groups == other.Groups && Dropout.Equals(other.Dropout) &&
        Nullable.Equals(WeightScale, other.WeightScale);

    public override int GetHashCode() =>
        HashCode.Combine(base.GetHashCode(), SequenceHash(ConvChannels), SequenceHash(PoolAfter), SequenceHash(HiddenDims),
            Normalization, Groups, Dropout, WeightScale);

    public override string ToString() =>
        $"convnet(conv_channels={Join(ConvChannels)}, pool_after={Join(PoolAfter)}, hidden_dims={Join(HiddenDims)}, normalization={Normalization}, groups={Groups}, dropout={Dropout}, weight_scale={(WeightScale is { } ws ? ws.ToString(System.Globalization.CultureInfo.InvariantCulture) : "kaiming")}, reg={Reg}, dtype={DType}, layers={Layers})";
}
