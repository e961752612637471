using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Trials;

namespace Sweep.Search.Reporting;

/// <summary>
/// Which slot of its worker each trial ran in. Dispatch events name the worker but not the slot, and a worker's slots
/// are interchangeable, so slots are assigned the way the worker fills them: runs in order of start, each taking the
/// lowest-numbered slot that is free at its start (interval partitioning, which uses no more slots than the worker
/// ran trials at once). Slots are 1-based; trials never dispatched get none.
/// </summary>
public static class WorkerSlots
{
    /// <summary>One run of a trial on a worker: from its dispatch until its slot was free again.</summary>
    public sealed record Run(string TrialId, long Ordinal, string Worker, DateTimeOffset Start, DateTimeOffset End);

    /// <summary>
    /// The runs of <paramref name="trial"/> that hold a slot in the journal's account: its runs that ended at a rung (paused),
    /// then its current or last run while running or once it finished (<see cref="BusyUntil"/>). A run cut off by a lost
    /// worker or a restart left no end and is not one of them.
    /// </summary>
    public static IEnumerable<Run> RunsOf(TrialState trial, DateTimeOffset now)
    {
        foreach (var paused in trial.EarlierRuns)
        {
            if (paused is not { Worker: { } worker, Start: { } start }) continue;
            var end = paused.End ?? start + TimeSpan.FromSeconds(paused.Seconds);
            var trained = start + TimeSpan.FromSeconds(paused.Seconds);
            yield return new Run(trial.TrialId, trial.Ordinal, worker, start, trained < end ? trained : end);
        }
        // A paused or promoted trial's last dispatch is the run that paused, counted above.
        var lastPausedStart = trial.EarlierRuns.Count > 0 ? trial.EarlierRuns[^1].Start : null;
        if (trial is { Worker: { } current, DispatchedAt: { } dispatched } && dispatched != lastPausedStart &&
            (trial.Status == TrialStatus.Running || (trial.IsTerminal && trial.FinishedAt is not null)))
            yield return new Run(trial.TrialId, trial.Ordinal, current, dispatched, trial.Status == TrialStatus.Running ? now : BusyUntil(trial, now));
    }

    /// <summary>The slot (1-based) of each trial's latest run among <see cref="RunsOf"/>, and of the runs whose end the journal lacks.</summary>
    public static IReadOnlyDictionary<string, int> Assign(IEnumerable<TrialState> trials, DateTimeOffset now)
    {
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (run, slot) in AssignRuns(trials, now))
            slots[run.TrialId] = slot;
        return slots;
    }

    /// <summary>Every run with its slot (1-based), per worker in order of start.</summary>
    public static IReadOnlyList<(Run Run, int Slot)> AssignRuns(IEnumerable<TrialState> trials, DateTimeOffset now) =>
        Partition(trials.SelectMany(t => RunsOrCutOff(t, now)));

    /// <summary>The most runs each worker held at once (the slots the journal shows it used), by worker.</summary>
    public static IReadOnlyDictionary<string, int> SlotsUsed(IEnumerable<Run> runs) =>
        Partition(runs).GroupBy(a => a.Run.Worker, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Max(a => a.Slot), StringComparer.Ordinal);

    // Interval partitioning per worker: runs in order of start, each in the lowest-numbered slot free at its start.
    private static List<(Run Run, int Slot)> Partition(IEnumerable<Run> runs)
    {
        var assigned = new List<(Run, int)>();
        foreach (var worker in runs.GroupBy(r => r.Worker, StringComparer.Ordinal))
        {
            var busyUntil = new List<DateTimeOffset>();
            foreach (var run in worker.OrderBy(r => r.Start).ThenBy(r => r.Ordinal))
            {
                var free = busyUntil.FindIndex(end => end <= run.Start);
                if (free < 0)
                {
                    busyUntil.Add(DateTimeOffset.MinValue);
                    free = busyUntil.Count - 1;
                }
                busyUntil[free] = run.End;
                assigned.Add((run, free + 1));
            }
        }
        return assigned;
    }

    // The leaderboard shows a slot for every dispatched trial, so a run cut off (re-queued, pending again) takes its slot
    // until now, as it did before paused runs were counted.
    private static IEnumerable<Run> RunsOrCutOff(TrialState trial, DateTimeOffset now)
    {
        var runs = RunsOf(trial, now).ToList();
        if (runs.Count == 0 && trial is { Worker: { } worker, DispatchedAt: { } start })
            runs.Add(new Run(trial.TrialId, trial.Ordinal, worker, start, BusyUntil(trial, now)));
        return runs;
    }

    /// <summary>
    /// When a trial's last run ended: its recorded finish time; for journals older than that field, its start plus the
    /// training seconds the worker reported; for a trial still running (or interrupted), <paramref name="now"/>.
    /// </summary>
    public static DateTimeOffset End(TrialState trial, DateTimeOffset now) =>
        trial.FinishedAt ?? (trial.DispatchedAt is { } start && trial.Result is { } result
            ? start + TimeSpan.FromSeconds(result.Seconds)
            : trial.IsTerminal && trial.DispatchedAt is { } at ? at : now);

    /// <summary>
    /// Until when a trial's last run held its slot: its start plus the training seconds the worker reported, when that
    /// is earlier than <see cref="End"/>. The journaled finish can come later than the slot was freed: a worker frees the
    /// slot (and takes its next trial) as soon as training ends, but reports the trial only once its last checkpoint is
    /// uploaded, so the finish alone would show one slot running two trials at once.
    /// </summary>
    public static DateTimeOffset BusyUntil(TrialState trial, DateTimeOffset now)
    {
        var end = End(trial, now);
        return trial.DispatchedAt is { } start && trial.Result is { } result && start + TimeSpan.FromSeconds(result.Seconds) is var trained && trained < end
            ? trained
            : end;
    }
}
