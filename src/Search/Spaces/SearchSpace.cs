using System.Collections.Immutable;
using System.Text.Json.Serialization;
using Sweep.Search.Serialization;

namespace Sweep.Search.Spaces;

/// <summary>
/// An immutable set of dimensions ordered by name (ordinal), so that sampling draws them in the same
/// order however the spec listed them.
/// </summary>
[JsonConverter(typeof(SearchSpaceJsonConverter))]
public sealed class SearchSpace : IEquatable<SearchSpace>
{
    public static readonly SearchSpace Empty = new([]);

    public SearchSpace(IEnumerable<Dimension> dimensions)
    {
        var list = dimensions.OrderBy(d => d.Name, StringComparer.Ordinal).ToImmutableArray();
        for (var i = 1; i < list.Length; i++)
            if (list[i].Name == list[i - 1].Name)
                throw new ArgumentException($"dimension '{list[i].Name}' is defined twice");
        Dimensions = list;
    }

    public ImmutableArray<Dimension> Dimensions { get; }

    /// <summary>Names of the dimensions that actually vary (everything but <see cref="Fixed"/>).</summary>
    public IEnumerable<string> SearchedNames => Dimensions.Where(d => d.IsSearched).Select(d => d.Name);

    public Dimension? Find(string name) => Dimensions.FirstOrDefault(d => d.Name == name);

    public TrialConfig Sample(Random random) =>
        TrialConfig.From(Dimensions.Select(d => KeyValuePair.Create(d.Name, d.Sample(random))));

    /// <summary>Whether <paramref name="config"/> has a value inside every dimension.</summary>
    public bool Contains(TrialConfig config) =>
        Dimensions.All(d => config.TryGetValue(d.Name, out var v) && d.Contains(v));

    /// <summary>Whether every dimension of <paramref name="inner"/> lies inside the same-named dimension here.</summary>
    public bool Encloses(SearchSpace inner) =>
        inner.Dimensions.Length == Dimensions.Length &&
        inner.Dimensions.All(d => Find(d.Name) is { } outer && outer.Encloses(d));

    /// <summary>
    /// The space narrowed around the given (top) configs: per dimension, see <see cref="Dimension.NarrowAround"/>.
    /// With no configs the space is returned unchanged.
    /// </summary>
    public SearchSpace NarrowAround(IReadOnlyCollection<TrialConfig> top, double margin)
    {
        if (margin < 0 || !double.IsFinite(margin)) throw new ArgumentException($"margin must be a finite number >= 0, got {margin}");
        if (top.Count == 0) return this;
        return new SearchSpace(Dimensions.Select(d =>
            d.NarrowAround(top.Where(c => c.Contains(d.Name)).Select(c => c[d.Name]).ToList(), margin)));
    }

    /// <summary>Cartesian product of every dimension's <see cref="Dimension.GridValues"/>, in a stable order.</summary>
    public ImmutableArray<TrialConfig> Grid(int pointsPerRange)
    {
        IEnumerable<ImmutableList<KeyValuePair<string, ParamValue>>> rows = [ImmutableList<KeyValuePair<string, ParamValue>>.Empty];
        foreach (var dimension in Dimensions)
        {
            var values = dimension.GridValues(pointsPerRange);
            rows = rows.SelectMany(row => values.Select(v => row.Add(KeyValuePair.Create(dimension.Name, v))));
        }
        return [.. rows.Select(TrialConfig.From)];
    }

    /// <summary>Number of grid points without building them (saturates at long.MaxValue).</summary>
    public long GridSize(int pointsPerRange)
    {
        long size = 1;
        foreach (var dimension in Dimensions)
        {
            var n = dimension.GridValues(pointsPerRange).Length;
            size = size > long.MaxValue / Math.Max(1, n) ? long.MaxValue : size * n;
        }
        return size;
    }

    public string Describe() => string.Join("  ", Dimensions.Select(d => $"{d.Name} {d.Describe()}"));

    public bool Equals(SearchSpace? other) => other is not null && Dimensions.SequenceEqual(other.Dimensions);

    public override bool Equals(object? obj) => Equals(obj as SearchSpace);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var d in Dimensions) hash.Add(d);
        return hash.ToHashCode();
    }

    public override string ToString() => Describe();
}
