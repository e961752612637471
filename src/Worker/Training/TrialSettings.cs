using System.Collections;
using System.Globalization;
using Sweep.Models.Data;
using Sweep.Models.Models;
using Sweep.Models.Training;
using Sweep.Models.Training.Optim;

namespace Sweep.Worker.Training;

/// <summary>A trial parameter is unknown, does not apply to the model family, or has a bad value; the message is one line.</summary>
public sealed class TrialSettingsException(string message) : Exception(message);

/// <summary>
/// Turns a trial's parameters, named as in TEAM.md (snake_case: model, hidden_dims, learning_rate, ...),
/// into the model spec, the solver options and the data split of one training run. `./sweep train`
/// maps its flags here and the cluster worker maps sweep trial configs here, so both agree on names,
/// defaults and validation. Values may be strings ("100,100", "1e-3", "kaiming") or numbers and int lists.
/// </summary>
public sealed record TrialSettings(
    string ModelFamily,
    ModelSpec Model,
    SolverOptions Solver,
    CifarSplitOptions Data,
    long Seed)
{
    public const string Fc = "fc";
    public const string ThreeLayerConvNet = "three_layer_convnet";
    public const string ConvNet = "convnet";

    /// <summary>Parameters that apply to every model family.</summary>
    public static IReadOnlyList<string> CommonNames { get; } =
    [
        "model", "reg", "update_rule", "learning_rate", "momentum", "lr_decay", "batch_size", "epochs", "num_train", "seed",
        "data_normalization",
    ];

    /// <summary>Model parameters per family.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> FamilyNames { get; } = new Dictionary<string, IReadOnlyList<string>>
    {
        [Fc] = ["hidden_dims", "normalization", "dropout", "weight_scale"],
        [ThreeLayerConvNet] = ["num_filters", "filter_size", "hidden_dim", "weight_scale"],
        [ConvNet] = ["conv_channels", "pool_after", "hidden_dims", "normalization", "groups", "dropout", "weight_scale"],
    };

    /// <summary>Every name this class understands.</summary>
    public static IReadOnlyList<string> KnownNames { get; } =
        CommonNames.Concat(FamilyNames.Values.SelectMany(n => n)).Distinct().ToList();

    /// <summary>
    /// Builds the settings of one run. <paramref name="values"/> holds only the parameters given; the rest
    /// take the seeds' defaults (fc: hidden_dims 100,100, weight_scale 1e-2; three_layer_convnet: §3.3;
    /// convnet: the challenge CNN of §3.4 with PyTorch default init and per-channel input normalization).
    /// A <c>seed</c> entry overrides <paramref name="defaultSeed"/>.
    /// </summary>
    /// <exception cref="TrialSettingsException">one line naming the parameter and the fix.</exception>
    public static TrialSettings FromValues(IReadOnlyDictionary<string, object?> values, long defaultSeed = 0)
    {
        ArgumentNullException.ThrowIfNull(values);
        var reader = new Reader(values);
        var family = NormalizeFamily(reader.String("model") ?? Fc);

        foreach (var name in values.Keys)
        {
            if (!KnownNames.Contains(name))
                throw new TrialSettingsException(
                    $"unknown parameter '{name}'; known parameters are {string.Join(", ", KnownNames)}");
            if (!CommonNames.Contains(name) && !FamilyNames[family].Contains(name))
                throw new TrialSettingsException(
                    $"parameter '{name}' does not apply to model {family}; its parameters are {string.Join(", ", FamilyNames[family])}");
        }

        var reg = reader.Double("reg", min: 0) ?? 0.0;
        ModelSpec model = family switch
        {
            Fc => new FullyConnectedNetSpec(reader.IntList("hidden_dims", allowEmpty: true) ?? [100, 100])
            {
                Normalization = reader.Normalization("normalization") ?? Normalization.None,
                Dropout = reader.Dropout("dropout") ?? 0.0,
                WeightScale = reader.WeightScale("weight_scale", allowKaiming: false) ?? 1e-2,
                Reg = reg,
            },
            ThreeLayerConvNet => new ThreeLayerConvNetSpec
            {
                NumFilters = reader.Int("num_filters", min: 1) ?? 32,
                FilterSize = reader.Int("filter_size", min: 1) ?? 7,
                HiddenDim = reader.Int("hidden_dim", min: 1) ?? 100,
                WeightScale = reader.WeightScale("weight_scale", allowKaiming: false) ?? 1e-3,
                Reg = reg,
            },
            _ => new ConvNetSpec(
                reader.IntList("conv_channels", allowEmpty: false) ?? ConvNetSpec.Challenge.ConvChannels,
                reader.IntList("pool_after", allowEmpty: true) ?? ConvNetSpec.Challenge.PoolAfter,
                reader.IntList("hidden_dims", allowEmpty: true) ?? ConvNetSpec.Challenge.HiddenDims)
            {
                Normalization = reader.Normalization("normalization") ?? ConvNetSpec.Challenge.Normalization,
                Groups = reader.Int("groups", min: 1) ?? 1,
                Dropout = reader.Dropout("dropout") ?? 0.0,
                WeightScale = reader.WeightScale("weight_scale", allowKaiming: true),
                Reg = reg,
            },
        };
        try
        {
            model.Validate();
        }
        catch (ArgumentException e)
        {
            throw new TrialSettingsException(e.Message);
        }

        var updateRule = reader.String("update_rule") is { } ruleName
            ? UpdateRule.TryParse(ruleName, out var kind)
                ? kind
                : throw new TrialSettingsException($"update_rule '{ruleName}' is unknown; use sgd, sgd_momentum, sgd_nesterov_momentum, rmsprop or adam")
            : UpdateRuleKind.Sgd;
        var solver = new SolverOptions
        {
            UpdateRule = updateRule,
            LearningRate = reader.Double("learning_rate", min: 0, exclusiveMin: true),
            Momentum = reader.Double("momentum", min: 0, max: 1, exclusiveMax: true) ?? 0.9,
            LrDecay = reader.Double("lr_decay", min: 0, exclusiveMin: true, max: 1) ?? 1.0,
            BatchSize = reader.Int("batch_size", min: 1) ?? 100,
            Epochs = reader.Int("epochs", min: 1) ?? 10,
            Seed = reader.Long("seed") ?? defaultSeed,
        };
        try
        {
            solver.Validate();
        }
        catch (ArgumentException e)
        {
            throw new TrialSettingsException(e.Message);
        }

        var dataNormalization = reader.String("data_normalization") switch
        {
            null => family == ConvNet ? CifarNormalization.PerChannel : CifarNormalization.MeanImage,
            "mean_image" => CifarNormalization.MeanImage,
            "per_channel" => CifarNormalization.PerChannel,
            var other => throw new TrialSettingsException($"data_normalization '{other}' is unknown; use mean_image (NumPy seeds) or per_channel (PyTorch notebook)"),
        };
        var data = CifarSplitOptions.Default with
        {
            NumTrain = reader.Int("num_train", min: 1, max: CifarSplitOptions.Default.TrainingSplitSize),
            Normalization = dataNormalization,
        };
        return new TrialSettings(family, model, solver, data, solver.Seed);
    }

    /// <summary>fc | three_layer_convnet (or three-layer-convnet) | convnet.</summary>
    public static string NormalizeFamily(string name) => name.Trim().ToLowerInvariant().Replace('-', '_') switch
    {
        Fc => Fc,
        ThreeLayerConvNet => ThreeLayerConvNet,
        ConvNet => ConvNet,
        _ => throw new TrialSettingsException($"model '{name}' is unknown; use fc, three_layer_convnet or convnet"),
    };

    /// <summary>Typed, validated access to the raw values; every failure names the parameter.</summary>
    private sealed class Reader(IReadOnlyDictionary<string, object?> values)
    {
        private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

        private object? Raw(string name) => values.TryGetValue(name, out var value) ? value : null;

        public string? String(string name) => Raw(name) switch
        {
            null => null,
            string s => s.Trim(),
            var other => Convert.ToString(other, Invariant),
        };

        public long? Long(string name)
        {
            var raw = Raw(name);
            switch (raw)
            {
                case null: return null;
                case int i: return i;
                case long l: return l;
                case double d when d == Math.Floor(d) && Math.Abs(d) < 9e15: return (long)d;
                case string s when long.TryParse(s.Trim(), NumberStyles.Integer, Invariant, out var parsed): return parsed;
                case string s when double.TryParse(s.Trim(), NumberStyles.Float, Invariant, out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e15: return (long)d;
                default: throw new TrialSettingsException($"{name} '{Show(raw)}' is not a whole number");
            }
        }

        public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
        {
            var value = Long(name);
            if (value is null)
                return null;
            if (value < min || value > max)
                throw new TrialSettingsException(max == int.MaxValue
                    ? $"{name} {value} is out of range; use a whole number >= {min}"
                    : $"{name} {value} is out of range; use a whole number from {min} to {max}");
            return (int)value;
        }

        public double? Double(string name, double min = double.NegativeInfinity, bool exclusiveMin = false,
            double max = double.PositiveInfinity, bool exclusiveMax = false)
        {
            var raw = Raw(name);
            double value;
            switch (raw)
            {
                case null: return null;
                case double d: value = d; break;
                case float f: value = f; break;
                case int i: value = i; break;
                case long l: value = l; break;
                case string s when double.TryParse(s.Trim(), NumberStyles.Float, Invariant, out var parsed): value = parsed; break;
                default: throw new TrialSettingsException($"{name} '{Show(raw)}' is not a number");
            }
            var tooLow = exclusiveMin ? value <= min : value < min;
            var tooHigh = exclusiveMax ? value >= max : value > max;
            if (!double.IsFinite(value) || tooLow || tooHigh)
            {
                var low = double.IsNegativeInfinity(min) ? "" : $"{(exclusiveMin ? ">" : ">=")} {min.ToString(Invariant)}";
                var high = double.IsPositiveInfinity(max) ? "" : $"{(exclusiveMax ? "<" : "<=")} {max.ToString(Invariant)}";
                var range = string.Join(" and ", new[] { low, high }.Where(p => p.Length > 0));
                throw new TrialSettingsException($"{name} {value.ToString(Invariant)} is out of range; use a finite number {range}".TrimEnd());
            }
            return value;
        }

        public double? Dropout(string name) =>
            Double(name, min: 0, max: 1, exclusiveMax: true) is { } p ? p : null;

        public double? WeightScale(string name, bool allowKaiming)
        {
            if (String(name) is { } text && text.Equals("kaiming", StringComparison.OrdinalIgnoreCase))
                return allowKaiming
                    ? null
                    : throw new TrialSettingsException($"{name} 'kaiming' is only available for the convnet model; give a number such as 1e-2");
            return Double(name, min: 0, exclusiveMin: true);
        }

        public Normalization? Normalization(string name) => String(name)?.ToLowerInvariant() switch
        {
            null => null,
            "none" => Models.Models.Normalization.None,
            "batchnorm" => Models.Models.Normalization.BatchNorm,
            "layernorm" => Models.Models.Normalization.LayerNorm,
            "groupnorm" => Models.Models.Normalization.GroupNorm,
            var other => throw new TrialSettingsException($"{name} '{other}' is unknown; use none, batchnorm, layernorm or groupnorm"),
        };

        public IReadOnlyList<int>? IntList(string name, bool allowEmpty)
        {
            var raw = Raw(name);
            List<int> list;
            switch (raw)
            {
                case null:
                    return null;
                case string s:
                {
                    var text = s.Trim().TrimStart('[').TrimEnd(']').Trim();
                    list = [];
                    if (text.Length > 0)
                        foreach (var part in text.Split(','))
                        {
                            if (!int.TryParse(part.Trim(), NumberStyles.Integer, Invariant, out var item))
                                throw new TrialSettingsException($"{name} '{s}' is not a comma-separated list of whole numbers (e.g. 100,100)");
                            list.Add(item);
                        }
                    break;
                }
                case IEnumerable<int> ints:
                    list = ints.ToList();
                    break;
                case IEnumerable items:
                    list = [];
                    foreach (var item in items)
                        list.Add(item switch
                        {
                            int i => i,
                            long l when l is >= int.MinValue and <= int.MaxValue => (int)l,
                            double d when d == Math.Floor(d) && Math.Abs(d) < int.MaxValue => (int)d,
                            _ => throw new TrialSettingsException($"{name} '{Show(raw)}' is not a list of whole numbers (e.g. 100,100)"),
                        });
                    break;
                default:
                    throw new TrialSettingsException($"{name} '{Show(raw)}' is not a list of whole numbers (e.g. 100,100)");
            }
            if (!allowEmpty && list.Count == 0)
                throw new TrialSettingsException($"{name} is empty; give at least one whole number (e.g. 32,32,64,64)");
            if (list.Any(v => v < 1))
                throw new TrialSettingsException($"{name} '{string.Join(",", list)}' has an entry below 1; every entry must be a positive whole number");
            return list;
        }

        private static string Show(object? raw) => raw switch
        {
            IEnumerable e and not string => "[" + string.Join(",", e.Cast<object?>().Select(o => Convert.ToString(o, Invariant))) + "]",
            _ => Convert.ToString(raw, Invariant) ?? "",
        };
    }
}
