using System.Globalization;
using Akka.Actor;
using Spectre.Console.Rendering;
using Spectre.Console;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.LocalWorkers;
using Sweep.Search.Progress;
using Sweep.Search.Reporting;

namespace Sweep.Coordinator.Cli;

/// <summary>
/// Follows a running sweep through the coordinator proxy and draws it: a live Spectre.Console table (one line
/// per running trial with its epoch and val accuracy, counts, best so far, ETA) on a terminal, or one plain
/// line per change when the output is redirected. Through a journal outage it shows "journal unavailable, retrying",
/// and gives up once the outage has lasted longer than allowed.
/// </summary>
internal static class ProgressView
{
    /// <summary>How following a sweep ended.</summary>
    /// <param name="Completed">The sweep completed.</param>
    /// <param name="JournalOutage">Set when following gave up because the journal stayed unavailable too long.</param>
    public sealed record Outcome(bool Completed, CoordinatorUnavailable? JournalOutage);

    /// <summary>
    /// Follows until the sweep completes, the user interrupts, every local worker died, or the journal has been
    /// unavailable for longer than <paramref name="giveUpAfter"/>.
    /// </summary>
    public static async Task<Outcome> FollowAsync(IActorRef coordinator, LocalWorkerPool? workers, bool live, TimeSpan interval,
        TimeSpan giveUpAfter, CancellationToken cancel)
    {
        if (!live)
            return await PollAsync(coordinator, workers, interval, giveUpAfter, cancel, status =>
            {
                var line = Summary(status);
                Console.WriteLine(line);
            }, Console.WriteLine, distinctOnly: true);

        var result = new Outcome(false, null);
        await AnsiConsole.Live(new Markup("[grey]waiting for the coordinator...[/]")).AutoClear(false).StartAsync(async context =>
        {
            result = await PollAsync(coordinator, workers, interval, giveUpAfter, cancel, status =>
            {
                context.UpdateTarget(Render(status));
                context.Refresh();
            }, notice =>
            {
                context.UpdateTarget(new Markup($"[yellow]{Markup.Escape(notice)}[/]"));
                context.Refresh();
            }, distinctOnly: false);
        });
        return result;
    }

    private static async Task<Outcome> PollAsync(IActorRef coordinator, LocalWorkerPool? workers, TimeSpan interval, TimeSpan giveUpAfter,
        CancellationToken cancel, Action<SweepStatus> show, Action<string> notice, bool distinctOnly)
    {
        string? last = null;
        CoordinatorUnavailable? outage = null;
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                switch (await coordinator.Ask<ISweepWire>(new GetSweepStatus(), TimeSpan.FromSeconds(5), cancel))
                {
                    case SweepStatus status:
                        if (outage is not null)
                            notice($"sweep: journal available again after {DisplayText.Duration(DateTimeOffset.UtcNow - outage.Since)}");
                        outage = null;
                        var key = ChangeKey(status);
                        if (!distinctOnly || key != last)
                            show(status);
                        last = key;
                        if (status.Progress.IsCompleted)
                            return new Outcome(true, null);
                        break;
                    case CoordinatorUnavailable unavailable:
                        if (outage is null)
                            notice($"sweep: journal unavailable, retrying (since {unavailable.Since.UtcDateTime:HH:mm:ss} UTC: {unavailable.Reason}); " +
                                   $"giving up after {DisplayText.Duration(giveUpAfter)}");
                        outage = unavailable;
                        last = null;
                        break;
                }
            }
            catch (AskTimeoutException)
            {
                // The coordinator is starting, recovering or moving; ask again.
            }
            catch (OperationCanceledException)
            {
                return new Outcome(false, null);
            }
            // Time-outs while the restarted coordinator recovers do not end an outage: only a status does.
            if (outage is not null && DateTimeOffset.UtcNow - outage.Since > giveUpAfter)
                return new Outcome(false, outage);
            if (workers is not null && workers.RestartExited() is > 0 and var restarted)
                await Console.Error.WriteLineAsync($"sweep: {restarted} local worker(s) had exited and were started again; see {string.Join(", ", workers.LogFiles)}");
            if (workers is { Count: > 0, Running: 0 })
            {
                await Console.Error.WriteLineAsync(
                    $"sweep: every local worker exited; see {string.Join(", ", workers.LogFiles)}");
                return new Outcome(false, null);
            }
            try
            {
                await Task.Delay(interval, cancel);
            }
            catch (OperationCanceledException)
            {
                return new Outcome(false, null);
            }
        }
        return new Outcome(false, null);
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
        var eta = p.IsCompleted ? "done" : p.Eta is { } e ? "ETA " + DisplayText.Duration(e) : "ETA -";
        return $"{p.Name}: stage {p.Stage}/{p.StageCount} | {p.Counts} | {best} | {eta}";
    }

    /// <summary>"s1-t0003 (stage 1) on 127.0.0.1:4100: epoch 2/5, val acc 0.412".</summary>
    public static string DescribeRunning(RunningTrialInfo trial) =>
        $"{trial.TrialId} (stage {trial.Stage}) on {DisplayText.Worker(trial.Worker)}: epoch {trial.EpochText}, val acc " +
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
                Markup.Escape(DisplayText.Worker(trial.Worker)),
                trial.EpochText,
                trial.LatestValAcc is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "-",
                DisplayText.Duration(trial.Elapsed));
        }
        if (p.Running.Length == 0)
            table.AddRow(new Markup(p.IsCompleted ? "[green]sweep complete[/]" : "[grey]no trial running (waiting for workers)[/]"));
        return table;
    }
}
