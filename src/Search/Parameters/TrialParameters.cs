using System.Collections.Immutable;
using System.Text;
using Sweep.Search.Spaces;
using static Sweep.Search.Parameters.ModelFamilies;

namespace Sweep.Search.Parameters;

/// <summary>
/// Every trial parameter, declared once: its name, where it is set, the model families it applies to, the values
/// it allows and its default per family, and its help text. The spec loader validates specs against it, the worker
/// maps trial configs to model and solver settings through it, `sweep train` makes its flags from it and
/// docs/parameters.md is generated from it (<see cref="ToMarkdown"/>). A (family, parameter) pair without a rule,
/// or a value outside the family's rule, is rejected when a spec is loaded, before any trial runs.
/// </summary>
public static class TrialParameters
{
    private static ImmutableArray<string> Families(params string[] families) => [.. families];

    private static ParameterRule Rule(ImmutableArray<string> families, ValueDomain domain, ParamValue? value, string? text = null) =>
        new(families, domain, value, text ?? value?.ToString() ?? "none");

    private static readonly FloatDomain Positive = new(0, MinOpen: true, double.PositiveInfinity, MaxOpen: false);
    private static readonly FloatDomain Probability = new(0, MinOpen: false, 1, MaxOpen: true);
    private static readonly IntDomain AtLeastOne = new(1, int.MaxValue);

    public static readonly TrialParameter Model = new("model", ParameterSection.Family,
        "model family: fc (FullyConnectedNet), three_layer_convnet (conv - relu - 2x2 pool - affine - relu - affine) or convnet (the challenge CNN)",
        [Rule(ModelFamilies.All, new ChoiceDomain(ModelFamilies.All), ParamValue.Of(Fc))]);

    public static readonly TrialParameter HiddenDims = new("hidden_dims", ParameterSection.Model,
        "widths of the hidden affine layers (convnet: the affine layers after the conv stages; [] = one affine to the classes)",
        [
            Rule(Families(Fc), new IntListDomain(AllowEmpty: false), ParamValue.Of([100, 100])),
            Rule(Families(ConvNet), new IntListDomain(AllowEmpty: true), ParamValue.Of([])),
        ]);

    public static readonly TrialParameter NumFilters = new("num_filters", ParameterSection.Model,
        "number of conv filters",
        [Rule(Families(ThreeLayerConvNet), AtLeastOne, ParamValue.Of(32))]);

    public static readonly TrialParameter FilterSize = new("filter_size", ParameterSection.Model,
        "conv kernel size (odd, so that 'same' padding keeps the image size)",
        [Rule(Families(ThreeLayerConvNet), new IntDomain(1, int.MaxValue) { OddOnly = true }, ParamValue.Of(7))]);

    public static readonly TrialParameter HiddenDim = new("hidden_dim", ParameterSection.Model,
        "width of the hidden affine layer",
        [Rule(Families(ThreeLayerConvNet), AtLeastOne, ParamValue.Of(100))]);

    public static readonly TrialParameter ConvChannels = new("conv_channels", ParameterSection.Model,
        "output channels of each 3x3 conv layer",
        [Rule(Families(ConvNet), new IntListDomain(AllowEmpty: false), ParamValue.Of([32, 32, 64, 64]))]);

    public static readonly TrialParameter PoolAfter = new("pool_after", ParameterSection.Model,
        "1-based indices of the conv layers followed by a 2x2 max pool",
        [Rule(Families(ConvNet), new IntListDomain(AllowEmpty: true), ParamValue.Of([2, 4]))]);

    public static readonly TrialParameter Normalization = new("normalization", ParameterSection.Model,
        "normalization after each affine (fc) or conv (convnet) layer, before its ReLU; groupnorm normalizes groups of a conv layer's channels and has no meaning for the fc model's (N, D) activations, layernorm is the fc model's",
        [
            Rule(Families(Fc), new ChoiceDomain(["none", "batchnorm", "layernorm"]), ParamValue.Of("none")),
            Rule(Families(ConvNet), new ChoiceDomain(["none", "batchnorm", "groupnorm"]), ParamValue.Of("batchnorm")),
        ]);

    public static readonly TrialParameter Groups = new("groups", ParameterSection.Model,
        "groupnorm: number of contiguous channel groups; must divide every conv width",
        [Rule(Families(ConvNet), AtLeastOne, ParamValue.Of(1))]);

    public static readonly TrialParameter Dropout = new("dropout", ParameterSection.Model,
        "drop probability of the dropout after each hidden ReLU (0 = no dropout layer)",
        [Rule(Families(Fc, ConvNet), Probability, ParamValue.Of(0.0), "0")]);

    public static readonly TrialParameter WeightScale = new("weight_scale", ParameterSection.Model,
        "standard deviation of the N(0, weight_scale^2) weight init; convnet also takes kaiming (PyTorch's default init)",
        [
            Rule(Families(Fc), Positive, ParamValue.Of(1e-2)),
            Rule(Families(ThreeLayerConvNet), Positive, ParamValue.Of(1e-3)),
            Rule(Families(ConvNet), Positive with { Keywords = ["kaiming"] }, ParamValue.Of("kaiming")),
        ]);

    public static readonly TrialParameter Reg = new("reg", ParameterSection.Model,
        "L2 strength: the loss gains 0.5 * reg * (sum of squared weights)",
        [Rule(ModelFamilies.All, new FloatDomain(0, MinOpen: false, double.PositiveInfinity, MaxOpen: false), ParamValue.Of(0.0), "0")]);

    public static readonly TrialParameter UpdateRule = new("update_rule", ParameterSection.Training,
        "the Solver's update rule",
        [Rule(ModelFamilies.All, new ChoiceDomain(["sgd", "sgd_momentum", "sgd_nesterov_momentum", "rmsprop", "adam"]), ParamValue.Of("sgd"))]);

    public static readonly TrialParameter LearningRate = new("learning_rate", ParameterSection.Training,
        "initial learning rate",
        [Rule(ModelFamilies.All, Positive, null, "1e-3 with adam, else 1e-2")]);

    public static readonly TrialParameter Momentum = new("momentum", ParameterSection.Training,
        "momentum of sgd_momentum and sgd_nesterov_momentum",
        [Rule(ModelFamilies.All, Probability, ParamValue.Of(0.9))]);

    public static readonly TrialParameter LrDecay = new("lr_decay", ParameterSection.Training,
        "learning rate multiplier after every epoch",
        [Rule(ModelFamilies.All, new FloatDomain(0, MinOpen: true, 1, MaxOpen: false), ParamValue.Of(1.0), "1")]);

    public static readonly TrialParameter BatchSize = new("batch_size", ParameterSection.Training,
        "minibatch size",
        [Rule(ModelFamilies.All, AtLeastOne, ParamValue.Of(100))]);

    public static readonly TrialParameter DataNormalization = new("data_normalization", ParameterSection.Training,
        "input normalization: mean_image subtracts the mean training image (the NumPy notebooks), per_channel standardizes each colour channel (the PyTorch notebook)",
        [
            Rule(Families(Fc, ThreeLayerConvNet), new ChoiceDomain(["mean_image", "per_channel"]), ParamValue.Of("mean_image")),
            Rule(Families(ConvNet), new ChoiceDomain(["mean_image", "per_channel"]), ParamValue.Of("per_channel")),
        ]);

    public static readonly TrialParameter Epochs = new("epochs", ParameterSection.Budget,
        "number of epochs",
        [Rule(ModelFamilies.All, new IntDomain(1, 10_000), ParamValue.Of(10))]);

    /// <summary>CIFAR-10's 50,000 training images less the 1,000 held out for validation.</summary>
    public const int TrainingImages = 49_000;

    public static readonly TrialParameter NumTrain = new("num_train", ParameterSection.Budget,
        "train on the first num_train of the 49,000 training images",
        [Rule(ModelFamilies.All, new IntDomain(1, TrainingImages), null, "all 49,000")]);

    public static readonly TrialParameter Seed = new("seed", ParameterSection.Seed,
        "trial seed for the weight init, minibatch sampling and dropout masks",
        [Rule(ModelFamilies.All, new IntDomain(long.MinValue, long.MaxValue), ParamValue.Of(0))]);

    /// <summary>The whole table, in reference-page order.</summary>
    public static readonly ImmutableArray<TrialParameter> All =
    [
        Model, HiddenDims, NumFilters, FilterSize, HiddenDim, ConvChannels, PoolAfter, Normalization, Groups, Dropout, WeightScale, Reg,
        UpdateRule, LearningRate, Momentum, LrDecay, BatchSize, DataNormalization, Epochs, NumTrain, Seed,
    ];

    private static readonly ImmutableDictionary<string, TrialParameter> ByName = All.ToImmutableDictionary(p => p.Name, StringComparer.Ordinal);

    public static TrialParameter? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The parameters of <paramref name="section"/> that apply to <paramref name="family"/>.</summary>
    public static ImmutableArray<TrialParameter> Of(string family, ParameterSection section) =>
        [.. All.Where(p => p.Section == section && p.AppliesTo(family))];

    /// <summary>The model family a config names (<c>model</c>), fc when it names none.</summary>
    public static string FamilyOf(TrialConfig config) => Model.Text(config, Fc)!;

    /// <summary>
    /// Checks every entry of <paramref name="config"/>: a known parameter that applies to its family, with an allowed
    /// value. Returns the family; the first problem is a one-line <see cref="TrialParameterException"/> naming the parameter.
    /// </summary>
    public static string Validate(TrialConfig config)
    {
        var family = FamilyOf(config);
        foreach (var (name, value) in config)
        {
            var parameter = Find(name) ?? throw new TrialParameterException(name,
                $"unknown parameter '{name}'; known parameters are {string.Join(", ", All.Select(p => p.Name))}");
            parameter.Check(family, value);
        }
        return family;
    }

    /// <summary>The reference page (docs/parameters.md), generated from the table.</summary>
    public static string ToMarkdown()
    {
        var page = new StringBuilder();
        page.Append("""
            # Trial parameters

            Generated from `src/Search/Parameters/TrialParameters.cs` (a test keeps this page equal to the table).
            The same names serve sweep specs (`model { }`, `training { }`, `space { }`), trial configs and
            `./sweep train --flag-name` (the name with `-` for `_`). A parameter used with a family it does not apply to,
            or a value its rule for that family does not allow, is rejected when the spec is loaded (`./sweep plan`).

            | parameter | set in | applies to | allowed | default | meaning |
            |---|---|---|---|---|---|

            """);
        foreach (var parameter in All)
        {
            foreach (var rule in parameter.Rules)
            {
                page.Append($"| `{parameter.Name}` | {SectionText(parameter.Section)} | {string.Join(", ", rule.Families)} | {Cell(rule.Domain.Describe())} | {Cell(rule.DefaultText)} | {Cell(parameter.Help)} |\n");
            }
        }
        page.Append("""

            Cross-parameter rules, checked when a spec fixes both values: `normalization = groupnorm` needs `groups`, and
            `groups` must divide every width of `conv_channels`; every `pool_after` index must name one of the conv layers.
            A sampled combination that breaks one of them fails that trial for good (never retried) with the parameter's name.
            """);
        return page.ToString();
    }

    private static string SectionText(ParameterSection section) => section switch
    {
        ParameterSection.Family => "`model.family`",
        ParameterSection.Model => "`model`, `space`",
        ParameterSection.Training => "`training`, `space`",
        ParameterSection.Budget => "`stages[i]`",
        _ => "derived from the sweep seed",
    };

    private static string Cell(string text) => text.Replace("|", "\\|");
}
