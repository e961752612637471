using Sweep.Search.Engine;
using Sweep.Search.Progress;

namespace Sweep.Search.Reporting;

/// <summary>
/// Which slot of its worker each trial ran in. Dispatch events name the worker but not the slot, and a worker's slots
/// are interchangeable, so slots are assigned the way the worker fills them: runs in order of start, each taking the
/// lowest-numbered slot that is free at its start (interval partitioning, which uses no more slots than the worker
/// ran trials at once). Slots are 1-based; trials never dispatched get none.
/// </summary>
public static class WorkerSlots
{
    public static IReadOnlyDictionary<string, int> Assign(IEnumerable<TrialState> trials, DateTimeOffset now)
    {
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var worker in trials.Where(t => t is { Worker: not null, DispatchedAt: not null }).GroupBy(t => t.Worker!, StringComparer.Ordinal))
        {
            var busyUntil = new List<DateTimeOffset>();
            foreach (var trial in worker.OrderBy(t => t.DispatchedAt).ThenBy(t => t.Ordinal))
            {
                var start = trial.DispatchedAt!.Value;
                var free = busyUntil.FindIndex(end => end <= start);
                if (free < 0)
                {
                    busyUntil.Add(DateTimeOffset.MinValue);
                    free = busyUntil.Count - 1;
                }
                busyUntil[free] = BusyUntil(trial, now);
                slots[trial.TrialId] = free + 1;
            }
        }
        return slots;
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
