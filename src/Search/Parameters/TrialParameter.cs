using System.Collections.Immutable;
using Sweep.Search.Spaces;

namespace Sweep.Search.Parameters;

/// <summary>Where a trial parameter is set.</summary>
public enum ParameterSection
{
    /// <summary>The model family itself (<c>model.family</c> in a spec, <c>--model</c> for `sweep train`).</summary>
    Family,
    /// <summary>The model's shape and regularization (<c>model { }</c> or <c>space { }</c> in a spec).</summary>
    Model,
    /// <summary>The Solver's settings and the input normalization (<c>training { }</c> or <c>space { }</c>).</summary>
    Training,
    /// <summary>How much a trial trains; set per stage (<c>stages[i]</c>), never fixed or searched.</summary>
    Budget,
    /// <summary>The trial seed; a sweep derives it from its own seed and the trial's position.</summary>
    Seed,
}

/// <summary>The model families of the table.</summary>
public static class ModelFamilies
{
    public const string Fc = "fc";
    public const string ThreeLayerConvNet = "three_layer_convnet";
    public const string ConvNet = "convnet";

    public static readonly ImmutableArray<string> All = [Fc, ThreeLayerConvNet, ConvNet];
}

/// <summary>What a parameter allows, and defaults to, for some model families.</summary>
/// <param name="Default">The value a trial gets when the parameter is not given; null when the trainer derives it.</param>
/// <param name="DefaultText">The default as the reference page and `--help` show it.</param>
public sealed record ParameterRule(ImmutableArray<string> Families, ValueDomain Domain, ParamValue? Default, string DefaultText);

/// <summary>A trial parameter is unknown, does not apply to the model family, or has a value it does not allow.</summary>
public sealed class TrialParameterException(string parameter, string message) : Exception(message)
{
    /// <summary>The parameter's name (snake_case).</summary>
    public string Parameter { get; } = parameter;
}

/// <summary>
/// One row of <see cref="TrialParameters"/>: a trial parameter's snake_case name, where it is set, its help text,
/// and per model family the values it allows and its default. A family without a rule does not take the parameter.
/// </summary>
public sealed record TrialParameter(string Name, ParameterSection Section, string Help, ImmutableArray<ParameterRule> Rules)
{
    /// <summary>The `sweep train` flag: the name in kebab case.</summary>
    public string FlagName => "--" + Name.Replace('_', '-');

    public IEnumerable<string> Families => Rules.SelectMany(r => r.Families);

    public bool AppliesTo(string family) => Rules.Any(r => r.Families.Contains(family));

    /// <summary>The rule for <paramref name="family"/>; a family the parameter does not apply to is an error naming both.</summary>
    public ParameterRule RuleFor(string family) =>
        Rules.FirstOrDefault(r => r.Families.Contains(family))
        ?? throw new TrialParameterException(Name,
            $"parameter '{Name}' does not apply to model {family}; it applies to {string.Join(", ", Families)}");

    /// <summary>
    /// <paramref name="value"/> checked against the family's rule and brought to its kind; anything not allowed is a
    /// one-line <see cref="TrialParameterException"/> naming the parameter, the value and what is allowed.
    /// </summary>
    public ParamValue Check(string family, ParamValue value)
    {
        var rule = RuleFor(family);
        return rule.Domain.Normalize(value)
            ?? throw new TrialParameterException(Name, Section == ParameterSection.Family
                ? $"{Name} '{value}' is unknown; allowed: {rule.Domain.Describe()}"
                : $"{Name} '{value}' is not allowed for model {family}; allowed: {rule.Domain.Describe()}");
    }

    /// <summary>The checked value of this parameter in <paramref name="config"/>, else the family's default (null when derived).</summary>
    public ParamValue? ValueIn(TrialConfig config, string family) =>
        config.TryGetValue(Name, out var value) ? Check(family, value) : RuleFor(family).Default;

    /// <summary>A number, or null for a keyword (e.g. kaiming) or a derived default.</summary>
    public double? Double(TrialConfig config, string family) =>
        ValueIn(config, family) is { IsNumber: true } value ? value.AsDouble() : null;

    public long? Long(TrialConfig config, string family) =>
        ValueIn(config, family) is { IsNumber: true } value ? (long)value.AsDouble() : null;

    public int? Int(TrialConfig config, string family) =>
        ValueIn(config, family) is { IsNumber: true } value ? value.AsInt() : null;

    public string? Text(TrialConfig config, string family) =>
        ValueIn(config, family) is { Kind: ParamKind.String } value ? value.AsString() : null;

    public ImmutableArray<int>? IntList(TrialConfig config, string family) =>
        ValueIn(config, family) is { Kind: ParamKind.IntList } value ? value.AsIntList() : null;

    /// <summary>The help text with the default per family, for `--help` and the reference page.</summary>
    public string HelpWithDefaults =>
        Rules.Length == 1
            ? $"{Help} (default {Rules[0].DefaultText})"
            : $"{Help} (default {string.Join("; ", Rules.Select(r => $"{string.Join(", ", r.Families)}: {r.DefaultText}"))})";
}
