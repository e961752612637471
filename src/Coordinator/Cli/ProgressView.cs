using System.Globalization;
using Akka.Actor;
using Spectre.Console.Rendering;
using Spectre.Console;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.LocalWorkers;
using Sweep.Search.Journal;

namespace Sweep.Coordinator.Cli;

/// <summary>
/// Follows a running sweep through the coordinator proxy and draws it: a live Spectre.Console table (one line
/// per running trial with its epoch and val accuracy, counts, best so far, ETA) on a terminal, or one plain
/// line per change when the output is redirected.
/// </summary>
internal static class ProgressView
{
    /// <summary>Returns true when the sweep completed, false when interrupted or when every local worker died.</summary>
    public static async Task<bool> FollowAsync(IActorRef coordinator, LocalWorkerPool? workers, bool live, TimeSpan interval, CancellationToken cancel)
    {
        if (!live)
            return await PollAsync(coordinator, workers, interval, cancel, status =>
            {
                var line = Summary(status);
                Console.WriteLine(line);
            }, distinctOnly: true);

        var result = false;
        await AnsiConsole.Live(new Markup("[grey]waiting for the coordinator...[/]")).AutoClear(false).StartAsync(async context =>
        {
            result = await PollAsync(coordinator, workers, interval, cancel, status =>
            {
                context.UpdateTarget(Render(status));
                context.Refresh();
            }, distinctOnly: false);
        });
        return result;
    }

    private static async Task<bool> PollAsync(IActorRef coordinator, LocalWorkerPool? workers, TimeSpan interval, CancellationToken cancel,
        Action<SweepStatus> show, bool distinctOnly)
    {
        string? last = null;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                var status = await coordinator.Ask<SweepStatus>(new GetSweepStatus(), TimeSpan.FromSeconds(5), cancel);
                var key = ChangeKey(status);
                if (!distinctOnly || key != last)
                    show(status);
                last = key;
                if (status.Progress.IsCompleted)
                    return true;
            }
            catch (AskTimeoutException)
            {
                // The coordinator is starting, recovering or moving; ask again.
            }
            catch (OperationCanceledException)
            {
                return false;
            }
            if (workers is not null && workers.RestartExited() is > 0 and var restarted)
                await Console.Error.WriteLineAsync($"sweep: {restarted} local worker(s) had exited and were started again; see {string.Join(", ", workers.LogFiles)}");
            if (workers is { Count: > 0, Running: 0 })
            {
                await Console.Error.WriteLineAsync(
                    $"sweep: every local worker exited; see {string.Join(", ", workers.LogFiles)}");
                return false;
            }
            try
            {
                await Task.Delay(interval, cancel);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
        return false;
    }

    /// <summary>What a plain-text follower prints a new line for (not the ticking ETA or elapsed times).</summary>
    private static string ChangeKey(SweepStatus status) =>
        $"{status.Progress.Stage}|{status.Progress.Counts}|{status.Progress.Best?.TrialId}|{status.Workers}|" +
        string.Join(",", status.Progress.Running.Select(r => $"{r.TrialId}:{r.Epoch}"));

    /// <summary>One line: stage, counts, best, ETA, workers.</summary>
    public static string Summary(SweepStatus status) =>
        $"{Describe(status.Progress)} | {status.Workers} worker(s), {status.Slots} slot(s)";

    /// <summary>One line from the sweep state alone: stage, counts, best, ETA.</summary>
    public static string Describe(SweepProgress p)
    {
        var best = p.Best is { } b ? $"best {b.BestValAcc.ToString("0.000", CultureInfo.InvariantCulture)} ({b.TrialId})" : "best -";
        var eta = p.IsCompleted ? "done" : p.Eta is { } e ? "ETA " + Duration(e) : "ETA -";
        return $"{p.Name}: stage {p.Stage}/{p.StageCount} | {p.Counts} | {best} | {eta}";
    }

    /// <summary>"s1-t0003 (stage 1) on 127.0.0.1:4100: epoch 2/5, val acc 0.412".</summary>
    public static string DescribeRunning(RunningTrialInfo trial) =>
        $"{trial.TrialId} (stage {trial.Stage}) on {ShortWorker(trial.Worker)}: epoch {trial.Epoch}/{trial.Epochs}, val acc " +
        (trial.LatestValAcc is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "-");

    private static IRenderable Render(SweepStatus status)
    {
        var p = status.Progress;
        var table = new Table().Border(TableBorder.Rounded).Expand();
        table.Title = new TableTitle(Markup.Escape(Summary(status)));
        table.AddColumn("trial");
        table.AddColumn("stage");
        table.AddColumn("worker");
        table.AddColumn(new TableColumn("epoch").RightAligned());
        table.AddColumn(new TableColumn("val acc").RightAligned());
        table.AddColumn(new TableColumn("elapsed").RightAligned());
        foreach (var trial in p.Running)
        {
            table.AddRow(
                Markup.Escape(trial.TrialId),
                trial.Stage.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(ShortWorker(trial.Worker)),
                $"{trial.Epoch}/{trial.Epochs}",
                trial.LatestValAcc is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "-",
                Duration(trial.Elapsed));
        }
        if (p.Running.Length == 0)
            table.AddRow(new Markup(p.IsCompleted ? "[green]sweep complete[/]" : "[grey]no trial running (waiting for workers)[/]"));
        return table;
    }

    /// <summary>"akka.tcp://sweep@127.0.0.1:4053/user/worker" -> "127.0.0.1:4053".</summary>
    public static string ShortWorker(string worker)
    {
        var at = worker.IndexOf('@');
        if (at < 0)
            return worker;
        var rest = worker[(at + 1)..];
        var slash = rest.IndexOf('/');
        return slash < 0 ? rest : rest[..slash];
    }

    private static string Duration(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{(int)span.TotalHours}h{span.Minutes:00}m" : span.TotalMinutes >= 1 ? $"{(int)span.TotalMinutes}m{span.Seconds:00}s" : $"{span.Seconds}s";
}
