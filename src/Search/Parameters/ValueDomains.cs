using System.Collections.Immutable;
using System.Globalization;
using Sweep.Search.Spaces;

namespace Sweep.Search.Parameters;

/// <summary>The values one trial parameter may take for one model family.</summary>
public abstract record ValueDomain
{
    /// <summary>
    /// <paramref name="value"/> in this domain's kind (an int where a float is expected becomes a float, an integral
    /// float where an int is expected becomes an int), or null when it is not allowed.
    /// </summary>
    public abstract ParamValue? Normalize(ParamValue value);

    /// <summary>What is allowed, for messages and the reference page, e.g. "a number > 0".</summary>
    public abstract string Describe();

    /// <summary>A few allowed values spanning the domain (its bounds, every choice), for tests and examples.</summary>
    public abstract IEnumerable<ParamValue> Examples();

    /// <summary>Reads a command-line value: a number, a word, or for lists "100,100", "[100, 100]" or "" (empty).</summary>
    public virtual ParamValue Parse(string text) => ParamValue.Parse(text.Trim());

    protected static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A real number in a range whose ends may be open, plus optional keywords (e.g. kaiming).</summary>
public sealed record FloatDomain(double Min, bool MinOpen, double Max, bool MaxOpen) : ValueDomain
{
    /// <summary>Words allowed instead of a number; each stands for a value the model derives itself.</summary>
    public ImmutableArray<string> Keywords { get; init; } = [];

    public override ParamValue? Normalize(ParamValue value)
    {
        if (value.Kind == ParamKind.String)
            return Keywords.Contains(value.AsString()) ? value : null;
        if (!value.IsNumber)
            return null;
        var x = value.AsDouble();
        var fits = double.IsFinite(x) && (MinOpen ? x > Min : x >= Min) && (MaxOpen ? x < Max : x <= Max);
        return fits ? ParamValue.Of(x) : null;
    }

    public override string Describe()
    {
        var range = (double.IsNegativeInfinity(Min), double.IsPositiveInfinity(Max)) switch
        {
            (false, true) => $"a number {(MinOpen ? ">" : ">=")} {Format(Min)}",
            (true, false) => $"a number {(MaxOpen ? "<" : "<=")} {Format(Max)}",
            (true, true) => "a number",
            _ => $"a number in {(MinOpen ? "(" : "[")}{Format(Min)}, {Format(Max)}{(MaxOpen ? ")" : "]")}",
        };
        return Keywords.IsEmpty ? range : $"{range} or {string.Join(" or ", Keywords)}";
    }

    public override IEnumerable<ParamValue> Examples()
    {
        var low = MinOpen ? (Min == 0 ? 1e-4 : Min + Math.Abs(Min) * 1e-3) : Min;
        var high = double.IsPositiveInfinity(Max) ? Math.Max(low, 1) * 10 : MaxOpen ? Max - (Max - low) * 1e-3 : Max;
        yield return ParamValue.Of(low);
        yield return ParamValue.Of(high);
        foreach (var keyword in Keywords)
            yield return ParamValue.Of(keyword);
    }
}

/// <summary>A whole number in [Min, Max], optionally odd only.</summary>
public sealed record IntDomain(long Min, long Max) : ValueDomain
{
    public bool OddOnly { get; init; }

    public override ParamValue? Normalize(ParamValue value)
    {
        if (!value.IsNumber)
            return null;
        var x = value.AsDouble();
        if (x != Math.Floor(x) || x < Min || x > Max || (OddOnly && Math.Abs(x) % 2 != 1))
            return null;
        // Seeds can exceed an int; they stay exact as floats up to 2^53.
        return x is >= int.MinValue and <= int.MaxValue ? ParamValue.Of((int)x) : ParamValue.Of(x);
    }

    public override string Describe()
    {
        var what = OddOnly ? "an odd integer" : "an integer";
        if (Min <= int.MinValue && Max >= int.MaxValue)
            return what;
        return Max >= int.MaxValue ? $"{what} >= {Min.ToString(CultureInfo.InvariantCulture)}"
            : $"{what} in [{Min.ToString(CultureInfo.InvariantCulture)}, {Max.ToString(CultureInfo.InvariantCulture)}]";
    }

    public override IEnumerable<ParamValue> Examples()
    {
        var low = Math.Max(Min, 0);
        if (OddOnly && low % 2 == 0) low++;
        yield return ParamValue.Of((int)low);
        yield return ParamValue.Of((int)Math.Min(Max, low + 2));
    }
}

/// <summary>One word out of a fixed list.</summary>
public sealed record ChoiceDomain(ImmutableArray<string> Values) : ValueDomain
{
    public override ParamValue? Normalize(ParamValue value) =>
        value.Kind == ParamKind.String && Values.Contains(value.AsString()) ? value : null;

    public override string Describe() => "one of " + string.Join("|", Values);

    public override IEnumerable<ParamValue> Examples() => Values.Select(ParamValue.Of);
}

/// <summary>A list of positive whole numbers (layer widths, 1-based layer indices); maybe empty.</summary>
public sealed record IntListDomain(bool AllowEmpty) : ValueDomain
{
    public override ParamValue? Normalize(ParamValue value) =>
        value.Kind == ParamKind.IntList && value.AsIntList().All(v => v >= 1) && (AllowEmpty || !value.AsIntList().IsEmpty) ? value : null;

    public override string Describe() =>
        AllowEmpty ? "a list of integers >= 1, e.g. [1, 2] or []" : "a non-empty list of integers >= 1, e.g. [100, 100]";

    public override IEnumerable<ParamValue> Examples()
    {
        yield return ParamValue.Of([1]);
        yield return ParamValue.Of([1, 2]);
        if (AllowEmpty)
            yield return ParamValue.Of([]);
    }

    public override ParamValue Parse(string text)
    {
        var inner = text.Trim().TrimStart('[').TrimEnd(']').Trim();
        if (inner.Length == 0)
            return ParamValue.Of([]);
        var items = new List<int>();
        foreach (var part in inner.Split(','))
        {
            if (!int.TryParse(part.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var item))
                return ParamValue.Of(text.Trim());
            items.Add(item);
        }
        return ParamValue.Of(items);
    }
}
