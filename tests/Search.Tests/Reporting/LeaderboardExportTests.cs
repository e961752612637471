using System.Text.Json.Nodes;
using NJsonSchema;
using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Reporting;
using Sweep.Search.Serialization;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Reporting;

/// <summary>The leaderboard's exports carry each trial's full histories, times, attempts, worker and slot.</summary>
public class LeaderboardExportTests
{
    private readonly SweepEngine _engine = new();

    private static TrialResult Result(double best, string worker, double seconds) =>
        new(TrialStatus.Completed, best, 2, [0.10, 0.20, 0.30], [0.09, best - 0.01, best], 1.2, seconds, null, worker);

    /// <summary>
    /// One worker with two slots: t1 and t2 start together; t1 fails once and reruns after t2 ended, and t3 starts while
    /// that rerun runs. Slots follow each trial's last run: t2 (slot 1), then t1's rerun (slot 1, free again), then t3
    /// (slot 2, as slot 1 is busy).
    /// </summary>
    private SweepState Sweep()
    {
        var t0 = TestSpecs.T0;
        var state = SweepState.Empty.ApplyAll(_engine.Start(TestSpecs.Spec(stage1: 3, stage2: 0)));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 2, t0));
        state = state.ApplyAll(_engine.ReportEpoch(state, "s1-t0002", "w1", 1, 2.1, 0.2, 0.3));
        state = state.ApplyAll(_engine.ReportEpoch(state, "s1-t0002", "w1", 2, 1.7, 0.3, 0.4));
        state = state.ApplyAll(_engine.Fail(state, "s1-t0001", "worker process crashed", "w1", t0.AddSeconds(5)));
        state = state.ApplyAll(_engine.Complete(state, "s1-t0002", Result(0.4, "w1", 9), t0.AddSeconds(10)));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, t0.AddSeconds(11)));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, t0.AddSeconds(12)));
        state = state.ApplyAll(_engine.ReportEpoch(state, "s1-t0001", "w1", 1, 2.0, 0.25, 0.35));
        state = state.ApplyAll(_engine.Complete(state, "s1-t0001", Result(0.5, "w1", 8), t0.AddSeconds(20)));
        return state.ApplyAll(_engine.Complete(state, "s1-t0003", Result(0.3, "w1", 8), t0.AddSeconds(21)));
    }

    [Fact]
    public void Rows_carry_histories_times_attempts_and_slots()
    {
        var board = Leaderboard.From(Sweep());
        var best = board.Rows[0];
        Assert.Equal("s1-t0001", best.TrialId);
        Assert.Equal(2, best.Attempts);
        Assert.Equal(1, best.Slot);
        Assert.Equal(TestSpecs.T0.AddSeconds(11), best.StartedAt);
        Assert.Equal(TestSpecs.T0.AddSeconds(20), best.FinishedAt);
        Assert.Equal([0.10, 0.20, 0.30], best.TrainAccHistory.ToArray());
        Assert.Equal([0.09, 0.49, 0.5], best.ValAccHistory.ToArray());
        Assert.Equal([2.0], best.LossHistory.ToArray()); // only the rerun's epoch reports: the failed run's were dropped
        var second = board.Rows[1];
        Assert.Equal(("s1-t0002", 1, 1, 2), (second.TrialId, second.Slot, second.Attempts, second.LossHistory.Length));
        Assert.Equal([2.1, 1.7], second.LossHistory.ToArray());
        Assert.Equal(("s1-t0003", 2), (board.Rows[2].TrialId, board.Rows[2].Slot));
    }

    [Fact]
    public void Csv_has_history_and_time_columns()
    {
        var lines = Leaderboard.From(Sweep()).ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var header = Cells(lines[0]);
        var cells = Cells(lines[2]);
        string Cell(string column) => cells[Array.IndexOf(header, column)];
        Assert.Equal("s1-t0002", Cell("trial_id"));
        Assert.Equal("1", Cell("slot"));
        Assert.Equal("1", Cell("attempts"));
        Assert.Equal("2026-01-01T00:00:00.000Z", Cell("started_at"));
        Assert.Equal("2026-01-01T00:00:10.000Z", Cell("finished_at"));
        Assert.Equal("0.1;0.2;0.3", Cell("train_acc_history"));
        Assert.Equal("0.09;0.39;0.4", Cell("val_acc_history"));
        Assert.Equal("2.1;1.7", Cell("loss_history"));
    }

    [Fact]
    public async Task Json_matches_the_documented_schema_and_round_trips()
    {
        var board = Leaderboard.From(Sweep());
        var json = board.ToJson();
        var schema = await JsonSchema.FromFileAsync(SchemaPath());
        var errors = schema.Validate(json);
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => e.ToString())));
        Assert.Equal(board.Rows.ToArray(), Leaderboard.RowsFromJson(json).ToArray());

        // The schema is not vacuous: a row with a field it does not declare, or without a required one, fails.
        var extra = JsonNode.Parse(json)!;
        extra["rows"]![0]!["surprise"] = 1;
        Assert.NotEmpty(schema.Validate(extra.ToJsonString()));
        var missing = JsonNode.Parse(json)!;
        missing["rows"]![0]!.AsObject().Remove("loss_history");
        Assert.NotEmpty(schema.Validate(missing.ToJsonString()));
    }

    [Fact]
    public void Events_written_before_the_timestamps_existed_still_load()
    {
        var old = SweepJson.DeserializeEvent("""{"event":"trial_failed","trial_id":"s1-t0001","reason":"boom","attempt":1,"terminal":false}""");
        Assert.Equal(new TrialFailed("s1-t0001", "boom", 1, false), old);
        var completed = (TrialCompleted)SweepJson.DeserializeEvent(SweepJson.SerializeEvent(new TrialCompleted("s1-t0001", Result(0.5, "w1", 3))).Replace(",\"at\":null", ""));
        Assert.Null(completed.At);
    }

    /// <summary>The cells of one RFC 4180 line (quoted cells may hold commas).</summary>
    private static string[] Cells(string line) =>
        [.. System.Text.RegularExpressions.Regex.Matches(line.TrimEnd('\r'), "(?:^|,)(\"(?:[^\"]|\"\")*\"|[^,]*)")
            .Select(m => m.Groups[1].Value is ['"', .. var inner, '"'] ? inner.Replace("\"\"", "\"") : m.Groups[1].Value)];

    private static string SchemaPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "leaderboard.schema.json");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("docs/leaderboard.schema.json not found above the test's directory");
    }
}
