using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sweep.Search.Engine;
using Sweep.Search.Serialization;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;

namespace Sweep.Search.Reporting;

/// <summary>One finished trial on the leaderboard.</summary>
public sealed record LeaderboardRow(
    int Rank,
    string TrialId,
    int Stage,
    TrialConfig Params,
    double BestValAcc,
    int BestEpoch,
    double? FinalTrainAcc,
    int EpochsRun,
    TrialStatus Status,
    double Seconds,
    string? Worker,
    string? Error);

/// <summary>
/// The finished trials of a sweep ranked by best val accuracy (the best epoch, never the last), ties broken by fewer
/// epochs then earlier finish; diverged and failed trials rank after every completed one. Exports as a fixed-width
/// text table, CSV and JSON. <see cref="ParamColumns"/> are the searched parameters (the ones that vary).
/// </summary>
public sealed class Leaderboard
{
    public Leaderboard(ImmutableArray<LeaderboardRow> rows, ImmutableArray<string> paramColumns)
    {
        Rows = rows;
        ParamColumns = paramColumns;
    }

    public ImmutableArray<LeaderboardRow> Rows { get; }

    public ImmutableArray<string> ParamColumns { get; }

    public static Leaderboard From(SweepState state)
    {
        var rows = state.Trials.Values
            .Where(t => t.IsTerminal)
            .Order(LeaderboardOrder.Comparer)
            .Select((t, i) => new LeaderboardRow(
                i + 1, t.TrialId, t.Stage, t.Spec.Params,
                t.Result?.BestValAcc ?? 0, t.Result?.BestEpoch ?? 0, t.Result?.FinalTrainAcc, t.Result?.EpochsRun ?? 0,
                t.Status, t.Result?.Seconds ?? 0, t.Result?.Worker ?? t.Worker, t.Result?.Error ?? t.FailureReason))
            .ToImmutableArray();
        var columns = state.Spec?.Space.SearchedNames.ToImmutableArray() ?? [];
        return new Leaderboard(rows, columns);
    }

    /// <summary>The first <paramref name="k"/> rows.</summary>
    public Leaderboard Top(int k) => new([.. Rows.Take(Math.Max(0, k))], ParamColumns);

    private static string Acc(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);
    private static string Secs(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);

    private string ParamText(LeaderboardRow row, string name) => row.Params.TryGetValue(name, out var v) ? v.ToString() : "";

    /// <summary>The table shows a worker as its host:port; CSV and JSON keep the full name.</summary>
    private static string WorkerText(string? worker) => DisplayText.Worker(worker);

    /// <summary>Plain fixed-width table (one header line, one line per row), no terminal escape codes.</summary>
    public string ToTable()
    {
        string[] header = ["rank", "trial", "stage", "best_val", "best_epoch", "train_acc", "epochs", "status", "seconds", "worker", .. ParamColumns];
        var lines = Rows.Select(r => (string[])[
            r.Rank.ToString(CultureInfo.InvariantCulture), r.TrialId, r.Stage.ToString(CultureInfo.InvariantCulture),
            Acc(r.BestValAcc), r.BestEpoch.ToString(CultureInfo.InvariantCulture), r.FinalTrainAcc is { } ta ? Acc(ta) : "-",
            r.EpochsRun.ToString(CultureInfo.InvariantCulture), r.Status.ToWireName(), Secs(r.Seconds), WorkerText(r.Worker),
            .. ParamColumns.Select(c => ParamText(r, c))]).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, lines.Count == 0 ? 0 : lines.Max(l => l[i].Length))).ToArray();
        var builder = new StringBuilder();
        void Line(string[] cells) => builder.AppendLine(string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        Line(header);
        foreach (var l in lines) Line(l);
        return builder.ToString();
    }

    /// <summary>RFC 4180 CSV with a header; one column per searched parameter.</summary>
    public string ToCsv()
    {
        var builder = new StringBuilder();
        string[] header = ["rank", "trial_id", "stage", "best_val_acc", "best_epoch", "final_train_acc", "epochs", "status", "seconds", "worker", .. ParamColumns, "error"];
        builder.AppendLine(string.Join(",", header.Select(Quote)));
        foreach (var r in Rows)
        {
            string[] cells = [
                r.Rank.ToString(CultureInfo.InvariantCulture), r.TrialId, r.Stage.ToString(CultureInfo.InvariantCulture),
                r.BestValAcc.ToString("R", CultureInfo.InvariantCulture), r.BestEpoch.ToString(CultureInfo.InvariantCulture),
                r.FinalTrainAcc?.ToString("R", CultureInfo.InvariantCulture) ?? "", r.EpochsRun.ToString(CultureInfo.InvariantCulture),
                r.Status.ToWireName(), r.Seconds.ToString("R", CultureInfo.InvariantCulture), r.Worker ?? "",
                .. ParamColumns.Select(c => ParamText(r, c)), r.Error ?? ""];
            builder.AppendLine(string.Join(",", cells.Select(Quote)));
        }
        return builder.ToString();
    }

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;

    /// <summary>JSON array of rows (snake_case fields; <c>params</c> holds every parameter of the trial).</summary>
    public string ToJson(bool indented = true) =>
        JsonSerializer.Serialize(Rows, indented ? SweepJson.IndentedOptions : SweepJson.Options);

    public static ImmutableArray<LeaderboardRow> RowsFromJson(string json) =>
        JsonSerializer.Deserialize<ImmutableArray<LeaderboardRow>>(json, SweepJson.Options);
}
