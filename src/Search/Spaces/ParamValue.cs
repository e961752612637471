using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Serialization;
using System.Text;
using Sweep.Search.Serialization;

namespace Sweep.Search.Spaces;

/// <summary>The kinds of value a hyperparameter can take in a spec, a config or a journal.</summary>
public enum ParamKind { Int, Float, String, Bool, IntList }

/// <summary>
/// One immutable hyperparameter value (int, float, string, bool or int list) with value equality and
/// a stable text form, so configs compare, hash and print identically in every process.
/// </summary>
[JsonConverter(typeof(ParamValueJsonConverter))]
public sealed class ParamValue : IEquatable<ParamValue>
{
    private readonly double _number;
    private readonly string? _text;
    private readonly ImmutableArray<int> _list;

    private ParamValue(ParamKind kind, double number, string? text, ImmutableArray<int> list)
    {
        Kind = kind;
        _number = number;
        _text = text;
        _list = list;
    }

    public ParamKind Kind { get; }

    public static ParamValue Of(int value) => new(ParamKind.Int, value, null, default);

    public static ParamValue Of(double value)
    {
        if (!double.IsFinite(value))
            throw new ArgumentException($"a parameter value must be a finite number, got {value.ToString(CultureInfo.InvariantCulture)}");
        // -0.0 and 0.0 must print and compare the same.
        return new(ParamKind.Float, value == 0 ? 0.0 : value, null, default);
    }

    public static ParamValue Of(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(ParamKind.String, 0, value, default);
    }

    /// <summary>A literal as written in a spec or on the command line: true/false, an integer, a finite number, else the text.</summary>
    public static ParamValue Parse(string text)
    {
        if (text == "true") return Of(true);
        if (text == "false") return Of(false);
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)) return Of(i);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) return Of(d);
        return Of(text);
    }

    public static ParamValue Of(bool value) => new(ParamKind.Bool, value ? 1 : 0, null, default);

    public static ParamValue Of(IEnumerable<int> values) => new(ParamKind.IntList, 0, null, values.ToImmutableArray());

    public bool IsNumber => Kind is ParamKind.Int or ParamKind.Float;

    /// <summary>The value as a double; ints widen.</summary>
    public double AsDouble() => IsNumber ? _number : throw WrongKind("a number");

    /// <summary>The value as an int; a float with an integral value (e.g. 100.0) is accepted.</summary>
    public int AsInt()
    {
        if (Kind == ParamKind.Int) return (int)_number;
        if (Kind == ParamKind.Float && _number == Math.Floor(_number) && Math.Abs(_number) <= int.MaxValue) return (int)_number;
        throw WrongKind("an integer");
    }

    public string AsString() => Kind == ParamKind.String ? _text! : throw WrongKind("a string");

    public bool AsBool() => Kind == ParamKind.Bool ? _number != 0 : throw WrongKind("a boolean");

    public ImmutableArray<int> AsIntList() => Kind == ParamKind.IntList ? _list : throw WrongKind("an int list");

    private InvalidOperationException WrongKind(string wanted) =>
        new($"value {this} is {KindName(Kind)}, not {wanted}");

    public static string KindName(ParamKind kind) => kind switch
    {
        ParamKind.Int => "an integer",
        ParamKind.Float => "a float",
        ParamKind.String => "a string",
        ParamKind.Bool => "a boolean",
        _ => "an int list",
    };

    /// <summary>Stable text form: shortest round-trip numbers, floats always with '.' or 'e'.</summary>
    public override string ToString() => Kind switch
    {
        ParamKind.Int => ((long)_number).ToString(CultureInfo.InvariantCulture),
        ParamKind.Float => FormatFloat(_number),
        ParamKind.Bool => _number != 0 ? "true" : "false",
        ParamKind.String => _text!,
        _ => "[" + string.Join(",", _list.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]",
    };

    public static string FormatFloat(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e", StringComparison.Ordinal);
        return text.Contains('.') || text.Contains('e') ? text : text + ".0";
    }

    public bool Equals(ParamValue? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        if (Kind != other.Kind) return false;
        return Kind switch
        {
            ParamKind.String => string.Equals(_text, other._text, StringComparison.Ordinal),
            ParamKind.IntList => _list.SequenceEqual(other._list),
            _ => _number.Equals(other._number),
        };
    }

    public override bool Equals(object? obj) => Equals(obj as ParamValue);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Kind);
        switch (Kind)
        {
            case ParamKind.String: hash.Add(_text, StringComparer.Ordinal); break;
            case ParamKind.IntList: foreach (var v in _list) hash.Add(v); break;
            default: hash.Add(_number); break;
        }
        return hash.ToHashCode();
    }

    public static bool operator ==(ParamValue? left, ParamValue? right) => Equals(left, right);
    public static bool operator !=(ParamValue? left, ParamValue? right) => !Equals(left, right);

    public static implicit operator ParamValue(int value) => Of(value);
    public static implicit operator ParamValue(double value) => Of(value);
    public static implicit operator ParamValue(string value) => Of(value);
    public static implicit operator ParamValue(bool value) => Of(value);
    public static implicit operator ParamValue(int[] value) => Of(value);

    internal static void AppendQuotedIfNeeded(StringBuilder builder, ParamValue value)
    {
        var text = value.ToString();
        if (value.Kind == ParamKind.String && (text.Length == 0 || text.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or '/'))))
            builder.Append(System.Text.Json.JsonSerializer.Serialize(text));
        else
            builder.Append(text);
    }
}
