using System.Collections.Immutable;
using Sweep.Search.Spaces;

namespace Sweep.Search.Reporting;

/// <summary>One parameter's importance: <see cref="Explained"/> is the bias-corrected share of the objective's variance its
/// main effect explains on its own; <see cref="Share"/> is that value normalized so the parameters sum to 1.</summary>
public sealed record ParameterEffect(string Name, double Explained, double Share);

/// <summary>The importances, most important first, or the reason none could be computed.</summary>
public sealed record ImportanceResult(ImmutableArray<ParameterEffect> Effects, string? Message)
{
    public bool IsAvailable => Message is null;
}

/// <summary>
/// Parameter importance as a first-order functional-ANOVA decomposition over binned marginals: for each searched
/// parameter, the finished trials are grouped into bins of that parameter (one per choice; for ranges, equal-count
/// bins of the value, in log space for log ranges), and the parameter's main effect is the between-bin share of the
/// objective's variance. Small groups inflate that share by chance, so each one is corrected the way epsilon-squared
/// corrects eta-squared: (SS_between - (bins - 1) * MS_within) / SS_total, floored at 0. Only main effects are
/// measured; interactions (which fANOVA on a random forest would also split out) stay in the unexplained remainder.
/// </summary>
public static class ParameterImportance
{
    /// <summary>Below this many completed trials the estimate is noise; the report says so instead.</summary>
    public const int MinimumTrials = 8;

    public static ImportanceResult Compute(IReadOnlyList<(TrialConfig Config, double Objective)> trials, IEnumerable<Dimension> searched)
    {
        var dimensions = searched.Where(d => d.IsSearched).ToList();
        if (dimensions.Count == 0)
            return new([], "parameter importance needs at least one searched parameter; this sweep searches none");
        if (trials.Count < MinimumTrials)
            return new([], $"parameter importance needs at least {MinimumTrials} completed trials; this sweep has {trials.Count} so far");
        var mean = trials.Average(t => t.Objective);
        var total = trials.Sum(t => (t.Objective - mean) * (t.Objective - mean));
        if (total <= 1e-12)
            return new([], $"all {trials.Count} completed trials reached the same val accuracy, so no parameter explains any difference");
        var binCount = Math.Clamp((int)Math.Floor(Math.Sqrt(trials.Count)), 2, 6);
        var explained = dimensions.Select(d => new { d.Name, Value = MainEffect(trials, d, binCount, total) }).ToList();
        var sum = explained.Sum(e => e.Value);
        var effects = explained
            .Select(e => new ParameterEffect(e.Name, e.Value, sum > 0 ? e.Value / sum : 0))
            .OrderByDescending(e => e.Explained).ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToImmutableArray();
        return new(effects, null);
    }

    private static double MainEffect(IReadOnlyList<(TrialConfig Config, double Objective)> trials, Dimension dimension, int binCount, double total)
    {
        var groups = Bins(trials, dimension, binCount).Where(g => g.Count > 0).ToList();
        if (groups.Count < 2) return 0;
        var n = groups.Sum(g => g.Count);
        var mean = groups.SelectMany(g => g).Average();
        var between = groups.Sum(g => g.Count * Math.Pow(g.Average() - mean, 2));
        var within = groups.Sum(g => { var m = g.Average(); return g.Sum(y => (y - m) * (y - m)); });
        var msWithin = n > groups.Count ? within / (n - groups.Count) : 0;
        return Math.Max(0, (between - (groups.Count - 1) * msWithin) / total);
    }

    private static IEnumerable<List<double>> Bins(IReadOnlyList<(TrialConfig Config, double Objective)> trials, Dimension dimension, int binCount)
    {
        var present = trials.Where(t => t.Config.Contains(dimension.Name)).ToList();
        if (dimension is Choice)
            return present.GroupBy(t => t.Config[dimension.Name]).Select(g => g.Select(t => t.Objective).ToList());
        var log = dimension is FloatRange { Log: true } or IntRange { Log: true };
        var ordered = present
            .Select(t => (Key: Numeric(t.Config[dimension.Name], log), t.Objective))
            .Where(t => double.IsFinite(t.Key))
            .OrderBy(t => t.Key)
            .ToList();
        // Equal-count bins over the sorted values; ties never straddle two bins.
        var bins = new List<List<double>>();
        var size = (double)ordered.Count / binCount;
        for (var i = 0; i < ordered.Count; i++)
        {
            var bin = Math.Min(binCount - 1, (int)(i / size));
            if (i > 0 && ordered[i].Key == ordered[i - 1].Key) bin = bins.Count - 1;
            while (bins.Count <= bin) bins.Add([]);
            bins[bin].Add(ordered[i].Objective);
        }
        return bins;
    }

    private static double Numeric(ParamValue value, bool log) =>
        !value.IsNumber ? double.NaN : log ? Math.Log10(value.AsDouble()) : value.AsDouble();
}
