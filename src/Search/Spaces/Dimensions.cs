using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Sweep.Search.Spaces;

/// <summary>
/// One searched (or fixed) hyperparameter. Dimensions are immutable and validate on construction, so
/// a space that exists is a valid space.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(FloatRange), "float")]
[JsonDerivedType(typeof(IntRange), "int")]
[JsonDerivedType(typeof(Choice), "choice")]
[JsonDerivedType(typeof(Fixed), "fixed")]
public abstract record Dimension
{
    protected Dimension(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a dimension needs a non-empty name");
        Name = name;
    }

    public string Name { get; }

    /// <summary>Draws one value; uses only <paramref name="random"/>, so a seeded source makes it reproducible.</summary>
    public abstract ParamValue Sample(Random random);

    /// <summary>Whether <paramref name="value"/> lies inside this dimension (bounds inclusive).</summary>
    public abstract bool Contains(ParamValue value);

    /// <summary>Evenly spaced grid values (in log space for log ranges); choices and fixed values list themselves.</summary>
    public abstract ImmutableArray<ParamValue> GridValues(int points);

    /// <summary>
    /// The dimension narrowed around <paramref name="values"/> (the top trials' values), widened on each side
    /// by <paramref name="margin"/> times this dimension's width (in log space for log ranges) and clipped to it.
    /// </summary>
    public abstract Dimension NarrowAround(IReadOnlyCollection<ParamValue> values, double margin);

    /// <summary>Whether every value of <paramref name="inner"/> lies inside this dimension.</summary>
    public abstract bool Encloses(Dimension inner);

    /// <summary>Human-readable range, e.g. <c>[1e-05, 0.01] log</c>.</summary>
    public abstract string Describe();

    [JsonIgnore]
    public bool IsSearched => this is not Fixed;

    /// <summary>Rounds to 4 significant digits so sampled configs stay readable in keys, logs and tables.</summary>
    internal static double RoundSignificant(double value)
    {
        if (value == 0 || !double.IsFinite(value)) return value;
        var digits = 3 - (int)Math.Floor(Math.Log10(Math.Abs(value)));
        if (digits is < 0 or > 15)
        {
            var scale = Math.Pow(10, digits);
            return Math.Round(value * scale) / scale;
        }
        return Math.Round(value, digits, MidpointRounding.ToEven);
    }

    protected static string Format(double value) => ParamValue.FormatFloat(value);
}

/// <summary>A float range [Low, High], uniform, or log-uniform when <see cref="Log"/> (then Low must be &gt; 0).</summary>
public sealed record FloatRange : Dimension
{
    public FloatRange(string name, double low, double high, bool log = false) : base(name)
    {
        if (!double.IsFinite(low) || !double.IsFinite(high))
            throw new ArgumentException($"{name}: bounds must be finite numbers, got low = {Format(low)}, high = {Format(high)}");
        if (low >= high)
            throw new ArgumentException($"{name}: low ({Format(low)}) must be below high ({Format(high)})");
        if (log && low <= 0)
            throw new ArgumentException($"{name}: a log range needs low > 0, got low = {Format(low)}");
        Low = low;
        High = high;
        Log = log;
    }

    public double Low { get; }
    public double High { get; }
    public bool Log { get; }

    private double ToScale(double v) => Log ? Math.Log(v) : v;
    private double FromScale(double v) => Log ? Math.Exp(v) : v;

    public override ParamValue Sample(Random random)
    {
        var u = random.NextDouble();
        var scaled = ToScale(Low) + u * (ToScale(High) - ToScale(Low));
        return ParamValue.Of(Clip(RoundSignificant(FromScale(scaled))));
    }

    private double Clip(double v) => Math.Min(High, Math.Max(Low, v));

    public override bool Contains(ParamValue value) => value.IsNumber && value.AsDouble() >= Low && value.AsDouble() <= High;

    public override ImmutableArray<ParamValue> GridValues(int points)
    {
        if (points < 1) throw new ArgumentException($"{Name}: grid points must be at least 1, got {points}");
        if (points == 1) return [ParamValue.Of(Clip(RoundSignificant(FromScale((ToScale(Low) + ToScale(High)) / 2))))];
        var step = (ToScale(High) - ToScale(Low)) / (points - 1);
        return [.. Enumerable.Range(0, points).Select(i => ParamValue.Of(Clip(RoundSignificant(FromScale(ToScale(Low) + i * step)))))];
    }

    public override Dimension NarrowAround(IReadOnlyCollection<ParamValue> values, double margin)
    {
        var inside = values.Where(Contains).Select(v => v.AsDouble()).ToList();
        if (inside.Count == 0) return this;
        var pad = margin * (ToScale(High) - ToScale(Low));
        // exp(log(x)) can miss x by an ulp either way: the range must still hold every top value and stay inside the parent.
        var low = pad == 0 ? inside.Min() : Clip(Math.Min(inside.Min(), FromScale(ToScale(inside.Min()) - pad)));
        var high = pad == 0 ? inside.Max() : Clip(Math.Max(inside.Max(), FromScale(ToScale(inside.Max()) + pad)));
        return low < high ? new FloatRange(Name, low, high, Log) : new Fixed(Name, ParamValue.Of(low));
    }

    public override bool Encloses(Dimension inner) => inner switch
    {
        FloatRange r => r.Low >= Low && r.High <= High,
        Fixed f => Contains(f.Value),
        _ => false,
    };

    public override string Describe() => $"[{Format(Low)}, {Format(High)}]{(Log ? " log" : "")}";
}

/// <summary>An integer range [Low, High] (inclusive), uniform, or log-uniform when <see cref="Log"/> (Low must be &gt; 0).</summary>
public sealed record IntRange : Dimension
{
    public IntRange(string name, int low, int high, bool log = false) : base(name)
    {
        if (low >= high)
            throw new ArgumentException($"{name}: low ({low}) must be below high ({high})");
        if (log && low <= 0)
            throw new ArgumentException($"{name}: a log range needs low > 0, got low = {low}");
        Low = low;
        High = high;
        Log = log;
    }

    public int Low { get; }
    public int High { get; }
    public bool Log { get; }

    private double ToScale(double v) => Log ? Math.Log(v) : v;
    private double FromScale(double v) => Log ? Math.Exp(v) : v;

    public override ParamValue Sample(Random random)
    {
        if (!Log) return ParamValue.Of(Low + (int)Math.Floor(random.NextDouble() * ((long)High - Low + 1)));
        // Sampling log-uniformly on [Low, High + 1) and flooring gives every integer its log-width share.
        var scaled = ToScale(Low) + random.NextDouble() * (ToScale(High + 1.0) - ToScale(Low));
        return ParamValue.Of(Math.Clamp((int)Math.Floor(FromScale(scaled)), Low, High));
    }

    public override bool Contains(ParamValue value) =>
        value.Kind == ParamKind.Int && value.AsInt() >= Low && value.AsInt() <= High;

    public override ImmutableArray<ParamValue> GridValues(int points)
    {
        if (points < 1) throw new ArgumentException($"{Name}: grid points must be at least 1, got {points}");
        if (points == 1) return [ParamValue.Of((int)Math.Round(FromScale((ToScale(Low) + ToScale(High)) / 2)))];
        var step = (ToScale(High) - ToScale(Low)) / (points - 1);
        return [.. Enumerable.Range(0, points)
            .Select(i => Math.Clamp((int)Math.Round(FromScale(ToScale(Low) + i * step)), Low, High))
            .Distinct()
            .Select(ParamValue.Of)];
    }

    public override Dimension NarrowAround(IReadOnlyCollection<ParamValue> values, double margin)
    {
        var inside = values.Where(Contains).Select(v => ToScale(v.AsInt())).ToList();
        if (inside.Count == 0) return this;
        var pad = margin * (ToScale(High) - ToScale(Low));
        var low = Math.Clamp((int)Math.Floor(FromScale(inside.Min() - pad) + 1e-9), Low, High);
        var high = Math.Clamp((int)Math.Ceiling(FromScale(inside.Max() + pad) - 1e-9), Low, High);
        return low < high ? new IntRange(Name, low, high, Log) : new Fixed(Name, ParamValue.Of(low));
    }

    public override bool Encloses(Dimension inner) => inner switch
    {
        IntRange r => r.Low >= Low && r.High <= High,
        Fixed f => Contains(f.Value),
        _ => false,
    };

    public override string Describe() => $"[{Low}, {High}] int{(Log ? " log" : "")}";
}

/// <summary>A categorical dimension: one of <see cref="Values"/> (strings, numbers, booleans or int lists), uniformly.</summary>
public sealed record Choice : Dimension
{
    public Choice(string name, ImmutableArray<ParamValue> values) : base(name)
    {
        var list = values.IsDefault ? [] : values;
        if (list.IsEmpty) throw new ArgumentException($"{name}: a choice needs at least one value");
        var duplicate = list.GroupBy(v => v).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"{name}: choice value {duplicate.Key} appears twice");
        Values = list;
    }

    public ImmutableArray<ParamValue> Values { get; }

    public override ParamValue Sample(Random random) => Values[random.Next(Values.Length)];

    public override bool Contains(ParamValue value) => Values.Contains(value);

    public override ImmutableArray<ParamValue> GridValues(int points) => Values;

    public override Dimension NarrowAround(IReadOnlyCollection<ParamValue> values, double margin)
    {
        var kept = Values.Where(values.Contains).ToList();
        return kept.Count == 0 ? this : new Choice(Name, [.. kept]);
    }

    public override bool Encloses(Dimension inner) => inner switch
    {
        Choice c => c.Values.All(Contains),
        Fixed f => Contains(f.Value),
        _ => false,
    };

    public override string Describe() => "{" + string.Join(", ", Values) + "}";

    public bool Equals(Choice? other) => other is not null && Name == other.Name && Values.SequenceEqual(other.Values);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Name);
        foreach (var v in Values) hash.Add(v);
        return hash.ToHashCode();
    }
}

/// <summary>A value that is the same in every trial.</summary>
public sealed record Fixed : Dimension
{
    public Fixed(string name, ParamValue value) : base(name)
    {
        Value = value ?? throw new ArgumentException($"{name}: a fixed dimension needs a value");
    }

    public ParamValue Value { get; }

    public override ParamValue Sample(Random random) => Value;

    public override bool Contains(ParamValue value) => Value.Equals(value);

    public override ImmutableArray<ParamValue> GridValues(int points) => [Value];

    public override Dimension NarrowAround(IReadOnlyCollection<ParamValue> values, double margin) => this;

    public override bool Encloses(Dimension inner) => inner is Fixed f && f.Value.Equals(Value);

    public override string Describe() => Value.ToString();
}
