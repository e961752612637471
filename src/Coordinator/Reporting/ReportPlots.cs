using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;
using Sweep.Search.Reporting;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Reporting;

/// <summary>
/// Draws the report's figures with ScottPlot from <see cref="SweepFacts"/>: optimization history (against trial-epochs
/// and wall time), a scatter per searched range with each stage's narrowed range shaded, the seeds' coarse-search
/// picture, learning curves of the top trials, categorical comparisons, parameter importance and the worker timeline.
/// </summary>
internal static class ReportPlots
{
    /// <summary>How many of the best trials the learning-curve figure shows.</summary>
    public const int LearningCurveCount = 5;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly IPalette StagePalette = new ScottPlot.Palettes.Category10();
    private const string FontName = "DejaVu Sans";

    public static IReadOnlyList<ReportFigure> All(SweepFacts facts)
    {
        var figures = new List<ReportFigure> { HistoryByEpochs(facts), HistoryByTime(facts) };
        figures.AddRange(facts.Searched.Where(d => d is not Choice).Select(d => ParameterScatter(facts, d)));
        figures.Add(CoarseSearch(facts));
        figures.Add(LearningCurves(facts));
        if (Pruning(facts) is { } pruning) figures.Add(pruning);
        figures.AddRange(facts.Searched.OfType<Choice>().Select(d => CategoricalComparison(facts, d)));
        figures.Add(Importance(facts));
        figures.Add(WorkerTimeline(facts));
        return figures;
    }

    private static Color StageColor(int stage) => StagePalette.GetColor(stage - 1);

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.Title(title, 15);
        plot.XLabel(xLabel, 13);
        plot.YLabel(yLabel, 13);
        return plot;
    }

    private static bool IsLog(Dimension d) => d is FloatRange { Log: true } or IntRange { Log: true };

    /// <summary>Axis position of a value: log10 for log ranges (ScottPlot draws linear axes; the labels undo the log).</summary>
    private static double Position(Dimension d, double value) => IsLog(d) ? Math.Log10(value) : value;

    private static void LabelAxis(IAxis axis, Dimension d)
    {
        if (IsLog(d))
            axis.TickGenerator = new NumericAutomatic { LabelFormatter = v => Math.Pow(10, v).ToString("0.#E+0", Inv) };
    }

    private static (double Low, double High)? Range(Dimension d) => d switch
    {
        FloatRange f => (f.Low, f.High),
        IntRange i => (i.Low, i.High),
        _ => null,
    };

    /// <summary>The whole searched range on the x axis, with a little room so that markers at its ends are not cut.</summary>
    private static void SetPaddedLimitsX(Plot plot, Dimension d, (double Low, double High) range)
    {
        var (low, high) = (Position(d, range.Low), Position(d, range.High));
        plot.Axes.SetLimitsX(low - 0.03 * (high - low), high + 0.03 * (high - low));
    }

    private static ReportFigure NotYet(string key, string title, string caption, string message) => new(key, title, caption, null, message);

    private static ReportFigure HistoryByEpochs(SweepFacts facts)
    {
        const string key = "history-epochs", title = "Optimization history by trial-epochs";
        const string caption = "Each completed trial's best val accuracy against the training epochs the sweep had spent when it finished; the line is the best so far.";
        var done = facts.Completed.ToList();
        if (done.Count == 0) return NotYet(key, title, caption, "no trial has completed yet");
        var cumulative = 0.0;
        var xs = new List<double>();
        foreach (var t in facts.Trials.Where(t => t.Status.IsTerminal()).OrderBy(t => t.FinishOrder))
        {
            cumulative += t.EpochsRun;
            if (t.BestValAcc is not null) xs.Add(cumulative);
        }
        return new(key, title, caption, History(title, "cumulative trial-epochs", done, xs));
    }

    private static ReportFigure HistoryByTime(SweepFacts facts)
    {
        const string key = "history-time", title = "Optimization history by wall time";
        const string caption = "Each completed trial's best val accuracy at the minute it finished (since the first dispatch); the line is the best so far.";
        var done = facts.Completed.Where(t => t.EndMinutes is not null).ToList();
        if (done.Count == 0) return NotYet(key, title, caption, "no trial has completed yet");
        return new(key, title, caption, History(title, "minutes since the sweep started", done, [.. done.Select(t => t.EndMinutes!.Value)]));
    }

    private static Plot History(string title, string xLabel, IReadOnlyList<TrialFacts> done, IReadOnlyList<double> xs)
    {
        var plot = NewPlot(title, xLabel, "best val accuracy");
        foreach (var stage in done.Select(t => t.Stage).Distinct().Order())
        {
            var indices = Enumerable.Range(0, done.Count).Where(i => done[i].Stage == stage).ToList();
            var points = plot.Add.ScatterPoints(indices.Select(i => xs[i]).ToArray(), indices.Select(i => done[i].BestValAcc!.Value).ToArray(), StageColor(stage));
            points.MarkerSize = 8;
            points.LegendText = $"stage {stage}";
        }
        var best = new double[done.Count];
        for (var i = 0; i < done.Count; i++) best[i] = Math.Max(i == 0 ? 0 : best[i - 1], done[i].BestValAcc!.Value);
        var line = plot.Add.ScatterLine(xs.ToArray(), best, Colors.Black);
        line.ConnectStyle = ConnectStyle.StepHorizontal;
        line.LineWidth = 2;
        line.LegendText = "best so far";
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    private static ReportFigure ParameterScatter(SweepFacts facts, Dimension d)
    {
        var key = "param-" + d.Name;
        var title = $"Val accuracy against {d.Name}";
        var caption = $"Best val accuracy of each completed trial against {d.Name}{(IsLog(d) ? " (log axis)" : "")}, coloured by stage; diverged trials are crosses at 0. Shaded bands are the ranges later stages sampled: the coarse-to-fine zoom.";
        var trials = facts.Trials.Where(t => t.Status is TrialStatus.Completed or TrialStatus.Diverged && t.Params.TryGetDouble(d.Name, out _)).ToList();
        if (trials.Count == 0) return NotYet(key, title, caption, "no trial has finished yet");
        var plot = NewPlot(title, d.Name + (IsLog(d) ? " (log scale)" : ""), "best val accuracy");
        foreach (var (stage, space) in facts.StageSpaces.Where(s => s.Key > 1))
        {
            if (space.Find(d.Name) is not { } narrowed || Range(narrowed) is not { } r) continue;
            var span = plot.Add.HorizontalSpan(Position(d, r.Low), Position(d, r.High), StageColor(stage).WithAlpha(0.15));
            span.LegendText = $"stage {stage} range";
            span.LineColor = StageColor(stage).WithAlpha(0.5);
        }
        foreach (var group in trials.GroupBy(t => (t.Stage, t.Status)).OrderBy(g => g.Key.Stage))
        {
            var xs = group.Select(t => Position(d, t.Params.GetDouble(d.Name))).ToArray();
            var ys = group.Select(t => t.BestValAcc ?? 0).ToArray();
            var points = plot.Add.ScatterPoints(xs, ys, StageColor(group.Key.Stage));
            points.MarkerSize = 8;
            if (group.Key.Status == TrialStatus.Diverged)
            {
                points.MarkerShape = MarkerShape.Cross;
                points.LegendText = $"stage {group.Key.Stage} diverged";
            }
            else
            {
                points.LegendText = $"stage {group.Key.Stage}";
            }
        }
        if (Range(d) is { } full) SetPaddedLimitsX(plot, d, full);
        LabelAxis(plot.Axes.Bottom, d);
        plot.ShowLegend(Alignment.UpperLeft);
        return new(key, title, caption, plot);
    }

    /// <summary>Colours markers by val accuracy for the colour bar.</summary>
    private sealed class AccuracyColorAxis(IColormap colormap, double min, double max) : IHasColorAxis
    {
        public IColormap Colormap => colormap;
        public ScottPlot.Range GetRange() => new(min, max);
    }

    private static ReportFigure CoarseSearch(SweepFacts facts)
    {
        const string key = "coarse-search";
        var numeric = facts.Searched.Where(d => d is FloatRange or IntRange).ToList();
        var x = numeric.FirstOrDefault(d => d.Name == "learning_rate") ?? numeric.FirstOrDefault();
        var y = numeric.FirstOrDefault(d => d.Name == "weight_scale" && d != x) ?? numeric.FirstOrDefault(d => d != x);
        var title = x is null || y is null ? "Coarse search" : $"Coarse search: {x.Name} against {y.Name}";
        const string caption = "The seed notebooks' coarse-search picture: each completed trial at its two parameter values, coloured by best val accuracy (brighter is better).";
        if (x is null || y is null) return NotYet(key, title, caption, "this picture needs two searched numeric parameters");
        var done = facts.Completed.Where(t => t.Params.TryGetDouble(x.Name, out _) && t.Params.TryGetDouble(y.Name, out _)).OrderBy(t => t.BestValAcc).ToList();
        if (done.Count == 0) return NotYet(key, title, caption, "no trial has completed yet");
        var plot = NewPlot(title, x.Name + (IsLog(x) ? " (log scale)" : ""), y.Name + (IsLog(y) ? " (log scale)" : ""));
        var min = done.Min(t => t.BestValAcc!.Value);
        var max = Math.Max(done.Max(t => t.BestValAcc!.Value), min + 1e-9);
        var colormap = new ScottPlot.Colormaps.Viridis();
        foreach (var t in done)
            plot.Add.Marker(Position(x, t.Params.GetDouble(x.Name)), Position(y, t.Params.GetDouble(y.Name)), MarkerShape.FilledCircle, 12,
                colormap.GetColor((t.BestValAcc!.Value - min) / (max - min)));
        var bar = plot.Add.ColorBar(new AccuracyColorAxis(colormap, min, max), Edge.Right);
        bar.Label = "best val accuracy";
        if (Range(x) is { } rx) SetPaddedLimitsX(plot, x, rx);
        if (Range(y) is { } ry)
        {
            var (low, high) = (Position(y, ry.Low), Position(y, ry.High));
            plot.Axes.SetLimitsY(low - 0.03 * (high - low), high + 0.03 * (high - low));
        }
        LabelAxis(plot.Axes.Bottom, x);
        LabelAxis(plot.Axes.Left, y);
        return new(key, title, caption, plot);
    }

    private static ReportFigure LearningCurves(SweepFacts facts)
    {
        const string key = "learning-curves";
        var title = $"Learning curves of the top {LearningCurveCount} trials";
        const string caption = "Train (dashed) and val (solid) accuracy after each epoch (epoch 0 is the check after the first update) for the best completed trials; a sweep that prunes has the pruned trials in a figure of their own.";
        var top = facts.Leaderboard.Rows.Where(r => r.Status == TrialStatus.Completed && r.ValAccHistory.Length > 0).Take(LearningCurveCount).ToList();
        if (top.Count == 0) return NotYet(key, title, caption, "no trial has completed yet");
        var plot = NewPlot(title, "epoch", "accuracy");
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < top.Count; i++)
        {
            var row = top[i];
            var color = palette.GetColor(i);
            var val = plot.Add.Scatter(Enumerable.Range(0, row.ValAccHistory.Length).Select(e => (double)e).ToArray(), row.ValAccHistory.ToArray(), color);
            val.LegendText = $"#{row.Rank} {row.TrialId} val";
            val.LineWidth = 2;
            if (row.TrainAccHistory.Length > 0)
            {
                var train = plot.Add.Scatter(Enumerable.Range(0, row.TrainAccHistory.Length).Select(e => (double)e).ToArray(), row.TrainAccHistory.ToArray(), color);
                train.LinePattern = LinePattern.Dashed;
                train.MarkerSize = 0;
            }
        }
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.LowerRight);
        return new(key, title, caption, plot);
    }

    /// <summary>
    /// Every finished trial's val curve, the pruned ones ending with a cross where the rule stopped them, with the
    /// rungs of successive halving and ASHA marked; null (no figure) when no stage prunes.
    /// </summary>
    private static ReportFigure? Pruning(SweepFacts facts)
    {
        if (facts.State.Spec is not { } spec) return null;
        var stages = Enumerable.Range(1, spec.Stages.Length).ToList();
        if (stages.All(stage => spec.PruningOf(stage).Rule == Search.Specs.PruningRule.None)) return null;
        const string key = "pruning", title = "Pruning: every trial's val accuracy by epoch";
        const string caption = "Val accuracy after each epoch of every finished trial: completed trials in their stage's colour, pruned ones in grey, ending with a cross where the rule stopped them. Dotted lines mark the rungs where successive halving and ASHA pause trials.";
        var trials = facts.Trials.Where(t => t.Status is TrialStatus.Completed or TrialStatus.Pruned && t.ValAccHistory.Length > 0).ToList();
        if (trials.Count == 0) return NotYet(key, title, caption, "no trial has finished yet");
        var plot = NewPlot(title, "epoch", "val accuracy");
        var grey = Colors.Gray.WithAlpha(0.55);
        var labelled = new HashSet<string>();
        // Pruned first, so that the completed curves are drawn on top.
        foreach (var t in trials.OrderBy(t => t.Status == TrialStatus.Completed))
        {
            var xs = Enumerable.Range(t.HistoryStart, t.ValAccHistory.Length).Select(e => (double)e).ToArray();
            var pruned = t.Status == TrialStatus.Pruned;
            var line = plot.Add.Scatter(xs, t.ValAccHistory.ToArray(), pruned ? grey : StageColor(t.Stage));
            line.LineWidth = pruned ? 1 : 2;
            line.MarkerSize = pruned ? 0 : 4;
            var label = pruned ? "pruned" : $"completed, stage {t.Stage}";
            if (labelled.Add(label)) line.LegendText = label;
            if (pruned)
            {
                var end = plot.Add.Marker(xs[^1], t.ValAccHistory[^1], MarkerShape.Cross, 8, Colors.Gray);
                end.LegendText = "";
            }
        }
        foreach (var rung in stages.SelectMany(stage => spec.RungEpochsOf(stage)).Distinct())
        {
            var mark = plot.Add.VerticalLine(rung, 1, Colors.Black.WithAlpha(0.4), LinePattern.Dotted);
            mark.Text = "";
        }
        plot.Axes.Bottom.TickGenerator = new NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Alignment.LowerRight);
        return new(key, title, caption, plot);
    }

    private static ReportFigure CategoricalComparison(SweepFacts facts, Choice d)
    {
        var key = "choice-" + d.Name;
        var title = $"Val accuracy by {d.Name}";
        var caption = $"Best val accuracy of each completed trial per value of {d.Name}: boxes span the quartiles with the median marked and whiskers at the extremes; points are the trials, coloured by stage.";
        var done = facts.Completed.Where(t => t.Params.Contains(d.Name)).ToList();
        if (done.Count == 0) return NotYet(key, title, caption, "no trial has completed yet");
        var plot = NewPlot(title, d.Name, "best val accuracy");
        var jitter = new Random(17);
        var labels = new List<string>();
        var labelledStages = new HashSet<int>();
        for (var i = 0; i < d.Values.Length; i++)
        {
            var choice = d.Values[i];
            labels.Add(choice.ToString());
            var group = done.Where(t => t.Params[d.Name].Equals(choice)).ToList();
            if (group.Count == 0) continue;
            var values = group.Select(t => t.BestValAcc!.Value).Order().ToArray();
            var box = plot.Add.Box(new Box
            {
                Position = i,
                BoxMin = Quantile(values, 0.25),
                BoxMax = Quantile(values, 0.75),
                BoxMiddle = Quantile(values, 0.5),
                WhiskerMin = values[0],
                WhiskerMax = values[^1],
                Width = 0.5,
            });
            box.Boxes[0].FillColor = Colors.Gray.WithAlpha(0.2);
            foreach (var stage in group.Select(t => t.Stage).Distinct().Order())
            {
                var ys = group.Where(t => t.Stage == stage).Select(t => t.BestValAcc!.Value).ToArray();
                var points = plot.Add.ScatterPoints(ys.Select(_ => i + (jitter.NextDouble() - 0.5) * 0.3).ToArray(), ys, StageColor(stage));
                points.MarkerSize = 7;
                if (labelledStages.Add(stage)) points.LegendText = $"stage {stage}";
            }
        }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, labels.Count).Select(i => (double)i)], [.. labels]);
        plot.Axes.SetLimitsX(-0.6, labels.Count - 0.4);
        plot.ShowLegend(Alignment.LowerRight);
        return new(key, title, caption, plot);
    }

    /// <summary>Linear-interpolated quantile of sorted values.</summary>
    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
    }

    private static ReportFigure Importance(SweepFacts facts)
    {
        const string key = "importance", title = "Parameter importance";
        const string caption = "Share of the variance in best val accuracy that each parameter's main effect explains on its own (first-order functional ANOVA over binned marginals, corrected for small groups; see the method note below). Bars are normalized to sum to 100%.";
        var result = ParameterImportance.Compute([.. facts.Completed.Select(t => (t.Params, t.BestValAcc!.Value))], facts.Searched);
        if (!result.IsAvailable) return NotYet(key, title, caption, result.Message!);
        var plot = NewPlot(title, "share of explained variance (%)", "");
        var effects = result.Effects.Reverse().ToList();
        var bars = effects.Select((e, i) => new Bar
        {
            Position = i,
            Value = 100 * e.Share,
            FillColor = StagePalette.GetColor(0),
            Orientation = Orientation.Horizontal,
            Label = $"{100 * e.Share:0}% (alone explains {100 * e.Explained:0}% of the variance)",
            CenterLabel = false,
        }).ToList();
        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontName = FontName;
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, effects.Count).Select(i => (double)i)], [.. effects.Select(e => e.Name)]);
        plot.Axes.SetLimitsX(0, 135);
        return new(key, title, caption, plot);
    }

    private static ReportFigure WorkerTimeline(SweepFacts facts)
    {
        const string key = "worker-timeline";
        const string caption = "One row per worker slot; each bar is a run, coloured by stage (a trial that paused at rungs has a bar per rung). Gaps are idle slot time between the first dispatch and the last finish.";
        var runs = facts.Runs;
        if (runs.Length == 0) return NotYet(key, "Worker timeline", caption, "no trial has been dispatched yet");
        var rows = runs.Select(r => (r.Worker, r.Slot)).Distinct().OrderBy(r => r.Worker, StringComparer.Ordinal).ThenBy(r => r.Slot).ToList();
        var span = Math.Max(runs.Max(r => r.EndMinutes), 1e-6);
        var busy = runs.Sum(r => r.EndMinutes - r.StartMinutes);
        var utilization = busy / (span * rows.Count);
        var title = $"Worker timeline: slots busy {100 * utilization:0}% of the time";
        var plot = NewPlot(title, "minutes since the sweep started", "");
        var legend = new HashSet<int>();
        foreach (var r in runs)
        {
            var row = rows.IndexOf((r.Worker, r.Slot));
            var rect = plot.Add.Rectangle(r.StartMinutes, r.EndMinutes, row - 0.35, row + 0.35);
            rect.FillColor = StageColor(r.Stage).WithAlpha(r.Running ? 0.4 : 0.85);
            rect.LineColor = Colors.White;
            if (legend.Add(r.Stage)) rect.LegendText = $"stage {r.Stage}";
        }
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, rows.Count).Select(i => (double)i)], [.. rows.Select(r => $"{DisplayText.Worker(r.Worker)} #{r.Slot}")]);
        plot.Axes.SetLimits(0, span * 1.02, -0.6, rows.Count - 0.4);
        plot.ShowLegend(Alignment.UpperRight);
        return new(key, title, caption, plot);
    }
}
