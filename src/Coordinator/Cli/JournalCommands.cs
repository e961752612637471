using System.CommandLine;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Reporting;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Cli;

/// <summary>`status` and `leaderboard`: read a sweep's journal (during or after the sweep) without joining a cluster.</summary>
internal static class JournalCommands
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    public static Command Status()
    {
        var journal = ClusterCommands.JournalOption("the sweep's journal, e.g. runs/quickstart.db");
        journal.Required = true;
        var command = new Command("status", "show a sweep's progress from its journal") { journal };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            var state = await ReadAsync(result.GetValue(journal)!);
            var progress = state.Progress(DateTimeOffset.UtcNow);
            Console.WriteLine(ProgressView.Describe(progress));
            foreach (var trial in progress.Running)
                Console.WriteLine("  running " + ProgressView.DescribeRunning(trial));
            Console.WriteLine(SlotUtilization.Of(state, DateTimeOffset.UtcNow).Describe());
            // Failures stay visible after a retry succeeds: "s1-t0003 failed 1 time(s), retried: trial process crashed (signal 11)".
            foreach (var trial in state.Trials.Values.Where(t => t.Failures > 0).OrderBy(t => t.Ordinal))
                Console.WriteLine($"  {trial.TrialId} failed {trial.Failures} time(s){(trial.Status == TrialStatus.Failed ? "" : ", retried")}: {trial.FailureReason}");
            Console.WriteLine(progress.IsCompleted
                ? "status: complete"
                : $"status: in progress, or interrupted (continue with ./sweep resume --journal {JournalLocation.Parse(result.GetValue(journal)!).Argument})");
            return ExitCodes.Success;
        }));
        return command;
    }

    public static Command Leaderboard()
    {
        var journal = ClusterCommands.JournalOption("the sweep's journal, e.g. runs/quickstart.db");
        journal.Required = true;
        var top = new Option<int?>("--top") { Description = "show only the best K trials" };
        var format = new Option<string>("--format") { Description = "table, csv or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong("table", "csv", "json");
        var command = new Command("leaderboard", "show a sweep's trials ranked by best val accuracy, from its journal") { journal, top, format };
        command.SetAction((result, _) => CliRunner.Guard(async () =>
        {
            if (result.GetValue(top) is < 1)
                throw new SweepUsageException($"--top {result.GetValue(top)} must be at least 1");
            var state = await ReadAsync(result.GetValue(journal)!);
            var board = Search.Reporting.Leaderboard.From(state);
            if (result.GetValue(top) is { } k)
                board = board.Top(k);
            Console.WriteLine(result.GetValue(format) switch
            {
                "csv" => board.ToCsv(),
                "json" => board.ToJson(),
                _ => board.ToTable(),
            });
            return ExitCodes.Success;
        }));
        return command;
    }

    private static async Task<SweepState> ReadAsync(string journalText)
    {
        var location = JournalLocation.Parse(journalText);
        location.CheckReadable();
        var state = await JournalReader.ReadStateAsync(location, ReadTimeout);
        if (!state.IsStarted)
            throw new SweepUsageException($"journal '{location.Display}' holds no sweep yet; start one with ./sweep run SPEC.conf --journal {location.Argument}");
        return state;
    }
}
