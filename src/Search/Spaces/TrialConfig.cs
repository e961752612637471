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
    // Configs hold about a dozen entries: a name-sorted array with binary search beats a tree in time and memory.
    private readonly ImmutableArray<KeyValuePair<string, ParamValue>> _values;
    private string? _key;

    public static readonly TrialConfig Empty = new([]);

    private TrialConfig(ImmutableArray<KeyValuePair<string, ParamValue>> sortedValues) => _values = sortedValues;

    public static TrialConfig From(IEnumerable<KeyValuePair<string, ParamValue>> values)
    {
        var list = values.ToArray();
        foreach (var (name, value) in list)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("a parameter name must not be empty");
            ArgumentNullException.ThrowIfNull(value, name);
        }
        Array.Sort(list, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        for (var i = 1; i < list.Length; i++)
            if (list[i].Key == list[i - 1].Key) throw new ArgumentException($"parameter '{list[i].Key}' appears twice");
        return new TrialConfig([.. list]);
    }

    public static TrialConfig From(params (string Name, ParamValue Value)[] values) =>
        From(values.Select(v => KeyValuePair.Create(v.Name, v.Value)));

    public int Count => _values.Length;

    public IEnumerable<string> Names => _values.Select(kv => kv.Key);

    private int IndexOf(string name)
    {
        int low = 0, high = _values.Length - 1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            var cmp = string.CompareOrdinal(_values[mid].Key, name);
            if (cmp == 0) return mid;
            if (cmp < 0) low = mid + 1;
            else high = mid - 1;
        }
        return ~low;
    }

    public ParamValue this[string name] =>
        TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"trial config has no parameter '{name}' (it has: {string.Join(", ", Names)})");

    public bool Contains(string name) => IndexOf(name) >= 0;

    public bool TryGetValue(string name, out ParamValue value)
    {
        var index = IndexOf(name);
        if (index >= 0) { value = _values[index].Value; return true; }
        value = null!;
        return false;
    }

    /// <summary>A copy with <paramref name="name"/> set (added or replaced).</summary>
    public TrialConfig With(string name, ParamValue value)
    {
        ArgumentNullException.ThrowIfNull(value, name);
        var index = IndexOf(name);
        return index >= 0
            ? new TrialConfig(_values.SetItem(index, KeyValuePair.Create(name, value)))
            : new TrialConfig(_values.Insert(~index, KeyValuePair.Create(name, value)));
    }

    public TrialConfig Without(string name)
    {
        var index = IndexOf(name);
        return index >= 0 ? new TrialConfig(_values.RemoveAt(index)) : this;
    }

    /// <summary>A copy with every entry of <paramref name="other"/> set; <paramref name="other"/> wins on a clash.</summary>
    public TrialConfig Merge(TrialConfig other)
    {
        var merged = new Dictionary<string, ParamValue>(StringComparer.Ordinal);
        foreach (var (name, value) in _values) merged[name] = value;
        foreach (var (name, value) in other._values) merged[name] = value;
        return From(merged);
    }

    /// <summary>The entries whose names are in <paramref name="names"/>.</summary>
    public TrialConfig Only(IEnumerable<string> names)
    {
        var keep = names as ISet<string> ?? names.ToHashSet(StringComparer.Ordinal);
        return new TrialConfig([.. _values.Where(kv => keep.Contains(kv.Key))]);
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
        if (TryGetValue(name, out var found) && fits(found)) { value = convert(found); return true; }
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
        other is not null && (ReferenceEquals(this, other) || (Count == other.Count && _values.Zip(other._values).All(p => p.First.Key == p.Second.Key && p.First.Value.Equals(p.Second.Value))));

    public override bool Equals(object? obj) => Equals(obj as TrialConfig);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    public IEnumerator<KeyValuePair<string, ParamValue>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, ParamValue>>)_values).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
