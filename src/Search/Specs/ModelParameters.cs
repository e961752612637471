using System.Collections.Immutable;
using Sweep.Search.Spaces;

namespace Sweep.Search.Specs;

/// <summary>
/// The parameters each model family and the trainer accept (the team's shared snake_case names), with the
/// values each may take. Specs are checked against this so a typo fails at load, not in a worker an hour later.
/// </summary>
public static class ModelParameters
{
    public const string Fc = "fc";
    public const string ThreeLayerConvNet = "three_layer_convnet";
    public const string ConvNet = "convnet";

    public static readonly ImmutableArray<string> Families = [Fc, ThreeLayerConvNet, ConvNet];

    public static readonly ImmutableArray<string> UpdateRules = ["sgd", "sgd_momentum", "sgd_nesterov_momentum", "rmsprop", "adam"];

    public static readonly ImmutableArray<string> Normalizations = ["none", "batchnorm", "layernorm", "groupnorm"];

    /// <summary>Training settings every family accepts.</summary>
    public static readonly ImmutableArray<string> TrainingNames = ["update_rule", "learning_rate", "momentum", "lr_decay", "batch_size"];

    /// <summary>Set per stage (<c>stages[i].epochs</c>, <c>stages[i].num_train</c>), never as a fixed or searched value.</summary>
    public static readonly ImmutableArray<string> BudgetNames = ["epochs", "num_train"];

    public static ImmutableArray<string> ModelNames(string family) => family switch
    {
        Fc => ["hidden_dims", "normalization", "groups", "dropout", "weight_scale", "reg"],
        ThreeLayerConvNet => ["num_filters", "filter_size", "hidden_dim", "weight_scale", "reg"],
        ConvNet => ["conv_channels", "pool_after", "hidden_dims", "normalization", "groups", "dropout", "weight_scale", "reg"],
        _ => throw new ArgumentException($"unknown model family '{family}'; allowed: {string.Join(", ", Families)}"),
    };

    /// <summary>Every parameter name a spec may fix or search for <paramref name="family"/>.</summary>
    public static ImmutableArray<string> Accepted(string family) => [.. ModelNames(family), .. TrainingNames];

    /// <summary>
    /// Brings <paramref name="value"/> to the kind <paramref name="name"/> expects (an int where a float is expected
    /// becomes a float, an integral float where an int is expected becomes an int), or returns null when it does not fit.
    /// </summary>
    public static ParamValue? Normalize(string family, string name, ParamValue value)
    {
        var expects = ExpectedKind(family, name);
        return (expects, value.Kind) switch
        {
            (Expect.Float or Expect.FloatOrKaiming, ParamKind.Int) => ParamValue.Of(value.AsDouble()),
            (Expect.Float or Expect.FloatOrKaiming, ParamKind.Float) => value,
            (Expect.FloatOrKaiming, ParamKind.String) => value,
            (Expect.Int, ParamKind.Int) => value,
            (Expect.Int, ParamKind.Float) when value.AsDouble() == Math.Floor(value.AsDouble()) && Math.Abs(value.AsDouble()) < int.MaxValue => ParamValue.Of(value.AsInt()),
            (Expect.Text, ParamKind.String) => value,
            (Expect.IntList, ParamKind.IntList) => value,
            _ => null,
        };
    }

    /// <summary>Null when <paramref name="value"/> is allowed for <paramref name="name"/>, else what is allowed.</summary>
    public static string? Check(string family, string name, ParamValue value)
    {
        var normalized = Normalize(family, name, value);
        if (normalized is null) return AllowedText(family, name);
        var ok = name switch
        {
            "update_rule" => UpdateRules.Contains(normalized.AsString()),
            "normalization" => Normalizations.Contains(normalized.AsString()) && (family != ThreeLayerConvNet),
            "learning_rate" => normalized.AsDouble() > 0,
            "momentum" or "dropout" => normalized.AsDouble() is >= 0 and < 1,
            "lr_decay" => normalized.AsDouble() is > 0 and <= 1,
            "reg" => normalized.AsDouble() >= 0,
            "weight_scale" => normalized.Kind == ParamKind.String ? family == ConvNet && normalized.AsString() == "kaiming" : normalized.AsDouble() > 0,
            "batch_size" or "num_filters" or "hidden_dim" or "groups" => normalized.AsInt() >= 1,
            "filter_size" => normalized.AsInt() >= 1 && normalized.AsInt() % 2 == 1,
            "hidden_dims" => normalized.AsIntList().All(v => v >= 1) && (family == ConvNet || !normalized.AsIntList().IsEmpty),
            "conv_channels" => !normalized.AsIntList().IsEmpty && normalized.AsIntList().All(v => v >= 1),
            "pool_after" => normalized.AsIntList().All(v => v >= 1),
            _ => true,
        };
        return ok ? null : AllowedText(family, name);
    }

    public static string AllowedText(string family, string name) => name switch
    {
        "update_rule" => "one of " + string.Join("|", UpdateRules),
        "normalization" => "one of " + string.Join("|", Normalizations),
        "learning_rate" => "a number > 0",
        "momentum" or "dropout" => "a number in [0, 1)",
        "lr_decay" => "a number in (0, 1]",
        "reg" => "a number >= 0",
        "weight_scale" => family == ConvNet ? "a number > 0 or kaiming" : "a number > 0",
        "batch_size" or "num_filters" or "hidden_dim" or "groups" => "an integer >= 1",
        "filter_size" => "an odd integer >= 1",
        "hidden_dims" => family == ConvNet ? "a list of integers >= 1, e.g. [100] or []" : "a non-empty list of integers >= 1, e.g. [100, 100]",
        "conv_channels" => "a non-empty list of integers >= 1, e.g. [32, 64]",
        "pool_after" => "a list of 1-based conv indices, e.g. [1, 2]",
        _ => "any value",
    };

    private enum Expect { Float, FloatOrKaiming, Int, Text, IntList }

    private static Expect ExpectedKind(string family, string name) => name switch
    {
        "update_rule" or "normalization" => Expect.Text,
        "learning_rate" or "momentum" or "lr_decay" or "dropout" or "reg" => Expect.Float,
        "weight_scale" => family == ConvNet ? Expect.FloatOrKaiming : Expect.Float,
        "batch_size" or "num_filters" or "filter_size" or "hidden_dim" or "groups" => Expect.Int,
        "hidden_dims" or "conv_channels" or "pool_after" => Expect.IntList,
        _ => Expect.Text,
    };
}
