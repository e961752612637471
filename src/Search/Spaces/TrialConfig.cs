using System.Collections;
using System.Collections.Immutable;
using System.Text;
using System.Text.Json.Serialization;
using Sweep.Search.Serialization;

namespace Sweep.Search.Spaces;

/// <summary>
/// An immutable map from parameter name to value, ordered by name (ordinal) so that two configs with
/// the same entries have the same <see cref="Key"/> however they were built. The key is the config's
/// identity in logs, in the journal and on the leaderboard.
/// </summary>
[JsonConverter(typeof(TrialConfigJsonConverter))]
public sealed class TrialConfig : IEquatable<TrialConfig>, IReadOnlyCollection<KeyValuePair<string, ParamValue>>
{
    private readonly ImmutableSortedDictionary<string, ParamValue> _values;
    private string? _key;

    public static readonly TrialConfig Empty = new(ImmutableSortedDictionary.Create<string, ParamValue>(StringComparer.Ordinal));

    private TrialConfig(ImmutableSortedDictionary<string, ParamValue> values) => _values = values;

    public static TrialConfig From(IEnumerable<KeyValuePair<string, ParamValue>> values)
    {
        var builder = ImmutableSortedDictionary.CreateBuilder<string, ParamValue>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a parameter name must not be empty");
            if (!builder.TryAdd(name, value)) throw new ArgumentException($"parameter '{name}' appears twice");
        }
        return new TrialConfig(builder.ToImmutable());
    }

    public static TrialConfig From(params (string Name, ParamValue Value)[] values) =>
        From(values.Select(v => KeyValuePair.Create(v.Name, v.Value)));

    public int Count => _values.Count;

    public IEnumerable<string> Names => _values.Keys;

    public ParamValue this[string name] =>
        _values.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"trial config has no parameter '{name}' (it has: {string.Join(", ", _values.Keys)})");

    public bool Contains(string name) => _values.ContainsKey(name);

    public bool TryGetValue(string name, out ParamValue value)
    {
        if (_values.TryGetValue(name, out var found)) { value = found; return true; }
        value = null!;
        return false;
    }

    /// <summary>A copy with <paramref name="name"/> set (added or replaced).</summary>
    public TrialConfig With(string name, ParamValue value) => new(_values.SetItem(name, value));

    public TrialConfig Without(string name) => new(_values.Remove(name));

    /// <summary>A copy with every entry of <paramref name="other"/> set; <paramref name="other"/> wins on a clash.</summary>
    public TrialConfig Merge(TrialConfig other) => new(_values.SetItems(other._values));

    /// <summary>The entries whose names are in <paramref name="names"/>.</summary>
    public TrialConfig Only(IEnumerable<string> names)
    {
        var keep = names.ToHashSet(StringComparer.Ordinal);
        return From(_values.Where(kv => keep.Contains(kv.Key)));
    }

    public double GetDouble(string name) => Get(name, v => v.AsDouble());
    public int GetInt(string name) => Get(name, v => v.AsInt());
    public string GetString(string name) => Get(name, v => v.AsString());
    public bool GetBool(string name) => Get(name, v => v.AsBool());
    public ImmutableArray<int> GetIntList(string name) => Get(name, v => v.AsIntList());

    public bool TryGetDouble(string name, out double value) => TryGet(name, v => v.IsNumber, v => v.AsDouble(), out value);
    public bool TryGetInt(string name, out int value) => TryGet(name, v => v.Kind == ParamKind.Int || (v.Kind == ParamKind.Float && v.AsDouble() == Math.Floor(v.AsDouble())), v => v.AsInt(), out value);
    public bool TryGetString(string name, out string value) => TryGet(name, v => v.Kind == ParamKind.String, v => v.AsString(), out value);
    public bool TryGetBool(string name, out bool value) => TryGet(name, v => v.Kind == ParamKind.Bool, v => v.AsBool(), out value);
    public bool TryGetIntList(string name, out ImmutableArray<int> value) => TryGet(name, v => v.Kind == ParamKind.IntList, v => v.AsIntList(), out value);

    private T Get<T>(string name, Func<ParamValue, T> convert)
    {
        var value = this[name];
        try { return convert(value); }
        catch (InvalidOperationException e) { throw new InvalidOperationException($"parameter '{name}': {e.Message}"); }
    }

    private bool TryGet<T>(string name, Func<ParamValue, bool> fits, Func<ParamValue, T> convert, out T value)
    {
        if (_values.TryGetValue(name, out var found) && fits(found)) { value = convert(found); return true; }
        value = default!;
        return false;
    }

    /// <summary>Stable one-line text form, e.g. <c>learning_rate=0.001 reg=1e-05 update_rule=adam</c>.</summary>
    public string Key => _key ??= BuildKey();

    private string BuildKey()
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in _values)
        {
            if (builder.Length > 0) builder.Append(' ');
            builder.Append(name).Append('=');
            ParamValue.AppendQuotedIfNeeded(builder, value);
        }
        return builder.ToString();
    }

    public override string ToString() => Key;

    public bool Equals(TrialConfig? other) =>
        other is not null && (ReferenceEquals(this, other) || (Count == other.Count && _values.All(kv => other._values.TryGetValue(kv.Key, out var v) && v.Equals(kv.Value))));

    public override bool Equals(object? obj) => Equals(obj as TrialConfig);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    public IEnumerator<KeyValuePair<string, ParamValue>> GetEnumerator() => _values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
