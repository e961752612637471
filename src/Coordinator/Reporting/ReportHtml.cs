using System.Globalization;
using System.Net;
using System.Text;
using Sweep.Search.Reporting;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Reporting;

/// <summary>
/// The report as one self-contained HTML page: every figure is an embedded PNG (a data: URI), the leaderboard's val
/// sparklines are inline SVG, and the style is inline, so the page loads nothing from anywhere and opens offline.
/// </summary>
internal static class ReportHtml
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public const string Style = """
        body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
        h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
        .summary { color: #444; } #leaderboard { overflow-x: auto; } .caption { color: #555; font-size: 0.92em; } .message { font-style: italic; color: #a33; }
        img.figure { max-width: 100%; height: auto; border: 1px solid #eee; }
        table { border-collapse: collapse; font-size: 0.85em; } th, td { padding: 3px 7px; border-bottom: 1px solid #eee; text-align: left; white-space: nowrap; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; } nav a { margin-right: 0.8em; }
        """;

    public static string Build(SweepFacts facts, IReadOnlyList<(ReportFigure Figure, byte[]? Png)> figures)
    {
        var html = new StringBuilder();
        var name = facts.Name.Length > 0 ? facts.Name : "(no sweep)";
        html.Append(Inv, $"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>Sweep report: {E(name)}</title>
            <style>{Style}</style>
            </head>
            <body>
            <h1>Sweep report: {E(name)}</h1>

            """);
        html.Append(Inv, $"<p class=\"summary\">{E(Summary(facts))}</p>\n");
        if (!facts.HasFinishedTrials)
        {
            html.Append(Inv, $"<p class=\"message\" id=\"no-trials\">{E(NoTrialsMessage(facts))}</p>\n</body>\n</html>\n");
            return html.ToString();
        }
        html.Append("<nav>");
        foreach (var (figure, _) in figures) html.Append(Inv, $"<a href=\"#{figure.Key}\">{E(figure.Title)}</a> ");
        html.Append("<a href=\"#leaderboard\">Leaderboard</a></nav>\n");
        foreach (var (figure, png) in figures)
        {
            html.Append(Inv, $"<section id=\"{figure.Key}\">\n<h2>{E(figure.Title)}</h2>\n");
            if (png is not null)
                html.Append(Inv, $"<img class=\"figure\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" width=\"{ReportFigure.Width}\" height=\"{ReportFigure.Height}\" alt=\"{E(figure.Title)}\">\n");
            else
                html.Append(Inv, $"<p class=\"message\">{E(figure.Message ?? "")}</p>\n");
            html.Append(Inv, $"<p class=\"caption\">{E(figure.Caption)}</p>\n</section>\n");
        }
        html.Append(Inv, $"<section id=\"importance-method\">\n<h2>How parameter importance is computed</h2>\n<p class=\"caption\">{E(ImportanceMethod)}</p>\n</section>\n");
        AppendLeaderboard(html, facts.Leaderboard);
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    public static readonly string ImportanceMethod =
        "For each searched parameter, the completed trials are grouped by its value (one group per choice; for ranges, " +
        "about sqrt(n) equal-count bins, in log space for log ranges). The parameter's main effect is the share of the " +
        "variance in best val accuracy that lies between the groups, corrected for chance as epsilon-squared does: " +
        "(SS_between - (groups - 1) x MS_within) / SS_total, floored at 0. This is the first-order term of a functional " +
        "ANOVA; interactions between parameters are not split out. With fewer than " +
        $"{ParameterImportance.MinimumTrials} completed trials the estimate is noise and is not shown.";

    public static string Summary(SweepFacts facts)
    {
        var state = facts.State;
        if (!state.IsStarted) return "The journal holds no sweep.";
        var status = state.IsCompleted ? "completed" : $"stage {state.CurrentStage} of {state.StageCount}";
        var best = state.BestTrialId is { } id && state.Trials[id].Result is { } r
            ? $"; best {id} with val accuracy {r.BestValAcc.ToString("0.0000", Inv)}"
            : "";
        var utilization = SlotUtilization.Of(state, facts.Now) is { Slots: > 0 } u ? $"; {u.Describe()}" : "";
        return $"{status}: {state.Counts}{best}{utilization}. Generated {facts.Now.UtcDateTime.ToString("yyyy-MM-dd HH:mm", Inv)} UTC.";
    }

    public static string NoTrialsMessage(SweepFacts facts) =>
        facts.State.IsStarted
            ? "No trial of this sweep has finished yet, so there is nothing to plot; run the report again once trials finish."
            : "This journal holds no sweep and no trials; start one with ./sweep run SPEC.conf --journal J.";

    private static void AppendLeaderboard(StringBuilder html, Leaderboard board)
    {
        html.Append("<section id=\"leaderboard\">\n<h2>Leaderboard</h2>\n<table>\n<tr><th>rank</th><th>trial</th><th>stage</th><th>best val</th><th>val per epoch</th><th>epochs</th><th>status</th><th>seconds</th><th>worker</th>");
        foreach (var column in board.ParamColumns) html.Append(Inv, $"<th>{E(column)}</th>");
        html.Append("</tr>\n");
        foreach (var row in board.Rows)
        {
            html.Append(Inv, $"<tr><td class=\"num\">{row.Rank}</td><td>{E(row.TrialId)}</td><td class=\"num\">{row.Stage}</td>");
            html.Append(Inv, $"<td class=\"num\">{row.BestValAcc.ToString("0.0000", Inv)}</td><td>{Sparkline(row.ValAccHistory)}</td>");
            html.Append(Inv, $"<td class=\"num\">{row.EpochsRun}</td><td>{row.Status.ToWireName()}</td><td class=\"num\">{row.Seconds.ToString("0.0", Inv)}</td>");
            html.Append(Inv, $"<td>{E(row.Worker is null ? "-" : DisplayText.Worker(row.Worker) + (row.Slot is { } s ? $" #{s}" : ""))}</td>");
            foreach (var column in board.ParamColumns)
                html.Append(Inv, $"<td>{E(row.Params.TryGetValue(column, out var v) ? v.ToString() : "")}</td>");
            html.Append("</tr>\n");
        }
        html.Append("</table>\n</section>\n");
    }

    /// <summary>A small inline SVG line of the val accuracy per epoch (no namespace URL needed inside HTML).</summary>
    public static string Sparkline(IReadOnlyList<double> values)
    {
        const double width = 90, height = 22;
        if (values.Count == 0) return "";
        var min = values.Min();
        var max = Math.Max(values.Max(), min + 1e-9);
        var points = string.Join(" ", values.Select((v, i) => string.Create(Inv,
            $"{(values.Count == 1 ? width / 2 : i * width / (values.Count - 1)):0.#},{height - 2 - (v - min) / (max - min) * (height - 4):0.#}")));
        return string.Create(Inv, $"<svg class=\"sparkline\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\"><polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{points}\"/></svg>");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
