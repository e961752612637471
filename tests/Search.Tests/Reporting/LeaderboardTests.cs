using System.Collections.Immutable;
using System.Text.Json.Nodes;
using Sweep.Search.Engine;
using Sweep.Search.Reporting;
using Sweep.Search.Tests.Support;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Reporting;

public class LeaderboardTests
{
    private readonly SweepEngine _engine = new();

    private static TrialResult Result(double best, int bestEpoch, int epochs, string worker, double seconds = 10) =>
        new(TrialStatus.Completed, best, bestEpoch,
            [.. Enumerable.Range(0, epochs + 1).Select(e => 0.1 * e)],
            [.. Enumerable.Range(0, epochs + 1).Select(e => e == bestEpoch ? best : best - 0.05)], 1.0, seconds, null, worker);

    /// <summary>Runs stage 1 of a 5-trial sweep with chosen results, finishing in the given order.</summary>
    private SweepState Finished(params (string Id, TrialResult Result)[] finishes)
    {
        var state = SweepState.Empty.ApplyAll(_engine.Start(TestSpecs.Spec(stage1: 5, stage2: 0)));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 5, TestSpecs.T0));
        foreach (var (id, result) in finishes) state = state.ApplyAll(_engine.Complete(state, id, result));
        return state;
    }

    [Fact]
    public void Ranks_by_best_val_not_last_then_fewer_epochs_then_earlier_finish()
    {
        var state = Finished(
            ("s1-t0001", Result(0.50, 1, 3, "w1")),                       // best epoch 1, last epoch lower: still ranks by 0.50
            ("s1-t0002", Result(0.55, 2, 2, "w1")),
            ("s1-t0003", Result(0.50, 2, 2, "w1")),                       // ties with t0001 but ran fewer epochs
            ("s1-t0004", Result(0.50, 2, 2, "w1")),                       // ties with t0003, finished later
            ("s1-t0005", new TrialResult(TrialStatus.Diverged, 0.9, 1, [0.9], [0.9], 1e9, 1, null, "w1")));
        var board = Leaderboard.From(state);
        Assert.Equal(["s1-t0002", "s1-t0003", "s1-t0004", "s1-t0001", "s1-t0005"], board.Rows.Select(r => r.TrialId));
        Assert.Equal([1, 2, 3, 4, 5], board.Rows.Select(r => r.Rank));
        var first = board.Rows[0];
        Assert.Equal((0.55, 2, 0.2, 2, TrialStatus.Completed, "w1"), (first.BestValAcc, first.BestEpoch, first.FinalTrainAcc!.Value, first.EpochsRun, first.Status, first.Worker!));
        Assert.Equal(["s1-t0002", "s1-t0003"], board.Top(2).Rows.Select(r => r.TrialId));
        Assert.Equal("s1-t0002", state.BestTrialId);
    }

    [Fact]
    public void Only_finished_trials_are_listed_and_failed_ones_show_their_reason()
    {
        var state = Finished(("s1-t0002", Result(0.4, 1, 1, "w1")));
        state = state.ApplyAll(_engine.Fail(state, "s1-t0003", "bad, \"weird\" error", null));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, TestSpecs.T0));
        state = state.ApplyAll(_engine.Fail(state, "s1-t0003", "bad, \"weird\" error", null));
        state = state.ApplyAll(_engine.Dispatch(state, "w1", 1, TestSpecs.T0));
        state = state.ApplyAll(_engine.Fail(state, "s1-t0003", "bad, \"weird\" error", null));
        var board = Leaderboard.From(state);
        Assert.Equal(["s1-t0002", "s1-t0003"], board.Rows.Select(r => r.TrialId));
        Assert.Equal(TrialStatus.Failed, board.Rows[1].Status);
        var csv = board.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("rank,trial_id,stage,best_val_acc,test_acc,best_epoch,final_train_acc,epochs,status,seconds,worker,slot,attempts,started_at,finished_at,batch_size,dropout,hidden_dims,learning_rate,update_rule,weight_scale,train_acc_history,val_acc_history,loss_history,resumed_from,error", csv[0].TrimEnd('\r'));
        Assert.EndsWith(",\"bad, \"\"weird\"\" error\"", csv[2].TrimEnd('\r'));
        Assert.StartsWith("1,s1-t0002,1,0.4,,1,", csv[1]);
    }

    [Fact]
    public void Table_shows_an_address_named_worker_as_host_and_port_and_csv_keeps_the_full_name()
    {
        const string address = "akka.tcp://sweep@10.0.0.2:4053/user/worker";
        var board = Leaderboard.From(Finished(("s1-t0001", Result(0.5, 1, 1, address)), ("s1-t0002", Result(0.4, 1, 1, "w1"))));
        var table = board.ToTable();
        Assert.Contains("10.0.0.2:4053", table);
        Assert.DoesNotContain(address, table);
        Assert.Contains(" w1 ", table);
        Assert.Contains(address, board.ToCsv());
    }

    [Fact]
    public void Table_has_a_header_and_one_aligned_line_per_row()
    {
        var state = Finished(("s1-t0001", Result(0.5, 1, 1, "w1")), ("s1-t0002", Result(0.45, 1, 1, "worker-two")));
        var lines = Leaderboard.From(state).ToTable().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("rank  trial", lines[0]);
        Assert.Contains("0.5000", lines[1]);
        Assert.Equal(lines[0].IndexOf("best_val", StringComparison.Ordinal), lines[2].IndexOf("0.4500", StringComparison.Ordinal));
        Assert.Contains("learning_rate", lines[0]);
        Assert.Contains(state.GetTrial("s1-t0001").Spec.Params["learning_rate"].ToString(), lines[1]);
    }

    [Fact]
    public void Json_lists_rows_with_snake_case_fields_and_round_trips()
    {
        var state = Finished(("s1-t0001", Result(0.5, 1, 1, "w1")));
        var board = Leaderboard.From(state);
        var json = board.ToJson();
        var document = JsonNode.Parse(json)!.AsObject();
        Assert.Equal(Leaderboard.JsonVersion, (int)document["version"]!);
        var row = document["rows"]!.AsArray()[0]!.AsObject();
        Assert.Equal(0.5, (double)row["best_val_acc"]!);
        Assert.Equal("completed", (string?)row["status"]);
        Assert.Equal("fc", (string?)row["params"]!["model"]);
        Assert.Equal(board.Rows.ToArray(), Leaderboard.RowsFromJson(json).ToArray());
    }

    [Fact]
    public void A_tested_trial_shows_its_test_accuracy_in_table_csv_and_json_and_a_later_test_replaces_it()
    {
        var state = Finished(("s1-t0001", Result(0.5, 1, 1, "w1")), ("s1-t0002", Result(0.45, 1, 1, "w1")));
        Assert.DoesNotContain("test_acc", Leaderboard.From(state).ToTable());
        state = state.Apply(new TrialTested("s1-t0002", 0.4, 1000, TestSpecs.T0));
        state = state.Apply(new TrialTested("s1-t0002", 0.41, 1000, TestSpecs.T0.AddMinutes(1)));
        // A trial that is still open has no best weights to test: the event leaves it alone.
        state = state.Apply(new TrialTested("s1-t0003", 0.9, 1000, TestSpecs.T0));
        var board = Leaderboard.From(state);
        Assert.Equal([null, 0.41], board.Rows.Select(r => r.TestAcc));
        Assert.Null(state.GetTrial("s1-t0003").Test);
        var table = board.ToTable().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("test_acc", table[0]);
        Assert.Equal(table[0].IndexOf("test_acc", StringComparison.Ordinal), table[2].IndexOf("0.4100", StringComparison.Ordinal));
        Assert.StartsWith("2,s1-t0002,1,0.45,0.41,1,", board.ToCsv().Split('\n')[2]);
        Assert.Equal(0.41, (double)JsonNode.Parse(board.ToJson())!["rows"]![1]!["test_acc"]!);
        Assert.Equal(board.Rows.ToArray(), Leaderboard.RowsFromJson(board.ToJson()).ToArray());
    }
}
