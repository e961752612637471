using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sweep.Search.Engine;
using Sweep.Search.Serialization;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;

namespace Sweep.Search.Reporting;

/// <summary>
/// One finished trial on the leaderboard. <paramref name="TrainAccHistory"/> and <paramref name="ValAccHistory"/> hold the
/// accuracy checked after the first update (index 0) and after each epoch (index e); <paramref name="LossHistory"/> holds
/// the training loss reported at the end of each epoch (index e-1 for epoch e). <paramref name="ResumedFrom"/> says where the
/// trial's final run continued from (<c>s1-t0003@2</c>: that trial's checkpoint after epoch 2), null when it started at
/// epoch 0. <paramref name="TestAcc"/> is the best weights' test-split accuracy once `sweep test` measured it.
/// docs/leaderboard-schema.md describes every field.
/// </summary>
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
    string? Error,
    int? Slot = null,
    int Attempts = 0,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? FinishedAt = null,
    ImmutableArray<double> TrainAccHistory = default,
    ImmutableArray<double> ValAccHistory = default,
    ImmutableArray<double> LossHistory = default,
    string? ResumedFrom = null,
    double? TestAcc = null)
{
    public ImmutableArray<double> TrainAccHistory { get; init; } = Seq(TrainAccHistory);
    public ImmutableArray<double> ValAccHistory { get; init; } = Seq(ValAccHistory);
    public ImmutableArray<double> LossHistory { get; init; } = Seq(LossHistory);

    // Value equality over the histories too (the compiler's would compare the arrays by reference).
    public bool Equals(LeaderboardRow? other) =>
        other is not null && Rank == other.Rank && TrialId == other.TrialId && Stage == other.Stage && Params.Equals(other.Params) &&
        BestValAcc.Equals(other.BestValAcc) && BestEpoch == other.BestEpoch && FinalTrainAcc == other.FinalTrainAcc &&
        EpochsRun == other.EpochsRun && Status == other.Status && Seconds.Equals(other.Seconds) && Worker == other.Worker &&
        Error == other.Error && Slot == other.Slot && Attempts == other.Attempts && StartedAt == other.StartedAt &&
        FinishedAt == other.FinishedAt && TrainAccHistory.SequenceEqual(other.TrainAccHistory) &&
        ValAccHistory.SequenceEqual(other.ValAccHistory) && LossHistory.SequenceEqual(other.LossHistory) &&
        ResumedFrom == other.ResumedFrom && TestAcc == other.TestAcc;

    public override int GetHashCode() => HashCode.Combine(Rank, TrialId, BestValAcc, Status);

    private static ImmutableArray<double> Seq(ImmutableArray<double> a) => a.IsDefault ? [] : a;
}

/// <summary>The leaderboard as JSON: <see cref="Version"/> names the schema (docs/leaderboard-schema.md).</summary>
public sealed record LeaderboardDocument(int Version, ImmutableArray<string> ParamColumns, ImmutableArray<LeaderboardRow> Rows);

/// <summary>
/// The finished trials of a sweep ranked by best val accuracy (the best epoch, never the last), ties broken by fewer
/// epochs then earlier finish; pruned trials rank after every completed one and before diverged and failed ones
/// (<see cref="Sampling.PrunedRanking"/>). Exports as a fixed-width
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

    /// <summary>The version of the JSON export's schema; raise it when a field changes meaning or goes away.</summary>
    public const int JsonVersion = 2;

    public static Leaderboard From(SweepState state)
    {
        var slots = WorkerSlots.Assign(state.Trials.Values, DateTimeOffset.UtcNow);
        var rows = state.Trials.Values
            .Where(t => t.IsTerminal)
            .Order(LeaderboardOrder.Comparer)
            .Select((t, i) => new LeaderboardRow(
                i + 1, t.TrialId, t.Stage, t.Spec.Params,
                t.BestValAcc, t.BestEpoch, t.Outcome?.FinalTrainAcc ?? PrunedFinalTrainAcc(t), t.EpochsRun,
                t.Status, (t.Result?.Seconds ?? PrunedSeconds(t)) + t.EarlierRuns.Sum(r => r.Seconds), t.Result?.Worker ?? t.Worker, t.Result?.Error ?? t.FailureReason,
                slots.TryGetValue(t.TrialId, out var slot) ? slot : null, t.Attempts, t.DispatchedAt,
                t.DispatchedAt is null ? null : WorkerSlots.End(t, DateTimeOffset.UtcNow),
                t.Outcome is { TrainAccHistory.IsDefault: false } r ? r.TrainAccHistory : [.. t.Epochs.Select(e => e.TrainAcc)],
                t.Outcome is { ValAccHistory.IsDefault: false } v ? v.ValAccHistory : [.. t.Epochs.Select(e => e.ValAcc)],
                [.. t.Epochs.Select(e => e.Loss)],
                t.ResumedFrom?.ToString(),
                t.Test?.TestAcc))
            .ToImmutableArray();
        var columns = state.Spec?.Space.SearchedNames.ToImmutableArray() ?? [];
        return new Leaderboard(rows, columns);
    }

    // A pruned trial has no worker result: its last epoch report and its run's wall time stand in. Seconds add up every
    // run of a trial that paused at rungs; one pruned while paused has no run beyond those.
    private static double? PrunedFinalTrainAcc(TrialState t) => t.Status == TrialStatus.Pruned ? t.LastEpoch?.TrainAcc : null;

    private static double PrunedSeconds(TrialState t) =>
        t is { Status: TrialStatus.Pruned, DispatchedAt: { } start, FinishedAt: { } end } && end > start &&
        (t.EarlierRuns.Count == 0 || t.EarlierRuns[^1].Start != start)
            ? (end - start).TotalSeconds
            : 0;

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
        // Optional columns only when some trial has them: "test_acc" once `sweep test` measured one, "from" when a
        // resumed or carried-over trial continued from a checkpoint.
        var tested = Rows.Any(r => r.TestAcc is not null);
        var resumed = Rows.Any(r => r.ResumedFrom is not null);
        string[] header = ["rank", "trial", "stage", "best_val", .. tested ? ["test_acc"] : Array.Empty<string>(), "best_epoch", "train_acc", "epochs", "status", "seconds", "worker",
            .. resumed ? ["from"] : Array.Empty<string>(), .. ParamColumns];
        var lines = Rows.Select(r => (string[])[
            r.Rank.ToString(CultureInfo.InvariantCulture), r.TrialId, r.Stage.ToString(CultureInfo.InvariantCulture),
            Acc(r.BestValAcc), .. (string[])(tested ? [r.TestAcc is { } test ? Acc(test) : "-"] : []),
            r.BestEpoch.ToString(CultureInfo.InvariantCulture), r.FinalTrainAcc is { } ta ? Acc(ta) : "-",
            r.EpochsRun.ToString(CultureInfo.InvariantCulture), r.Status.ToWireName(), Secs(r.Seconds), WorkerText(r.Worker),
            .. resumed ? [r.ResumedFrom ?? "-"] : Array.Empty<string>(),
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
        string[] header = ["rank", "trial_id", "stage", "best_val_acc", "test_acc", "best_epoch", "final_train_acc", "epochs", "status", "seconds", "worker",
            "slot", "attempts", "started_at", "finished_at", .. ParamColumns, "train_acc_history", "val_acc_history", "loss_history", "resumed_from", "error"];
        builder.AppendLine(string.Join(",", header.Select(Quote)));
        foreach (var r in Rows)
        {
            string[] cells = [
                r.Rank.ToString(CultureInfo.InvariantCulture), r.TrialId, r.Stage.ToString(CultureInfo.InvariantCulture),
                r.BestValAcc.ToString("R", CultureInfo.InvariantCulture), r.TestAcc?.ToString("R", CultureInfo.InvariantCulture) ?? "",
                r.BestEpoch.ToString(CultureInfo.InvariantCulture),
                r.FinalTrainAcc?.ToString("R", CultureInfo.InvariantCulture) ?? "", r.EpochsRun.ToString(CultureInfo.InvariantCulture),
                r.Status.ToWireName(), r.Seconds.ToString("R", CultureInfo.InvariantCulture), r.Worker ?? "",
                r.Slot?.ToString(CultureInfo.InvariantCulture) ?? "", r.Attempts.ToString(CultureInfo.InvariantCulture),
                Timestamp(r.StartedAt), Timestamp(r.FinishedAt),
                .. ParamColumns.Select(c => ParamText(r, c)), History(r.TrainAccHistory), History(r.ValAccHistory), History(r.LossHistory),
                r.ResumedFrom ?? "", r.Error ?? ""];
            builder.AppendLine(string.Join(",", cells.Select(Quote)));
        }
        return builder.ToString();
    }

    private static string Timestamp(DateTimeOffset? at) => at?.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture) ?? "";

    /// <summary>A per-epoch history in one CSV cell: values separated by semicolons.</summary>
    private static string History(ImmutableArray<double> values) =>
        values.IsDefaultOrEmpty ? "" : string.Join(";", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;

    /// <summary>
    /// A JSON object <c>{version, param_columns, rows}</c> (snake_case fields; each row's <c>params</c> holds every parameter
    /// of the trial), as docs/leaderboard-schema.md and docs/leaderboard.schema.json describe.
    /// </summary>
    public string ToJson(bool indented = true) =>
        JsonSerializer.Serialize(new LeaderboardDocument(JsonVersion, ParamColumns, Rows), indented ? SweepJson.IndentedOptions : SweepJson.Options);

    public static ImmutableArray<LeaderboardRow> RowsFromJson(string json)
    {
        var document = JsonSerializer.Deserialize<LeaderboardDocument>(json, SweepJson.Options)
            ?? throw new JsonException("a leaderboard document must not be null");
        if (document.Version != JsonVersion)
            throw new JsonException($"unsupported leaderboard version {document.Version}; this build reads version {JsonVersion}");
        return document.Rows;
    }
}
