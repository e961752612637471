using System.Globalization;
using Sweep.Search.Engine;
using Sweep.Search.Trials;

namespace Sweep.Search.Reporting;

/// <summary>
/// How busy the sweep kept its slots: <see cref="BusySlotSeconds"/> / (<see cref="Slots"/> x <see cref="WallSeconds"/>).
/// A run is busy from its dispatch until its slot was free again (<see cref="WorkerSlots.BusyUntil"/>: its terminal or
/// pause event, or the end of its training when the worker reported later, after uploading its last checkpoint); a trial
/// that paused at rungs (successive halving, ASHA) has a run per rung (<see cref="WorkerSlots.RunsOf"/>); a run that
/// was cut off (worker lost, coordinator restarted) left no end time and counts as idle. The wall time runs from the first
/// dispatch to the last run's end (to <c>now</c> while trials run). The journal does not record slots, so
/// <see cref="Slots"/> is what the journal shows was used: per worker, the most runs it held at once, summed over workers
/// (<see cref="WorkerSlots"/>).
/// </summary>
public sealed record SlotUtilization(double BusySlotSeconds, int Slots, double WallSeconds)
{
    /// <summary>The ratio in [0, 1]; 0 before any run.</summary>
    public double Ratio => Slots == 0 || WallSeconds <= 0 ? 0 : Math.Min(1, BusySlotSeconds / (Slots * WallSeconds));

    public static SlotUtilization Of(SweepState state, DateTimeOffset now)
    {
        var runs = state.Trials.Values.SelectMany(t => WorkerSlots.RunsOf(t, now)).Where(r => r.End >= r.Start).ToList();
        if (runs.Count == 0) return new SlotUtilization(0, 0, 0);
        var busy = runs.Sum(r => (r.End - r.Start).TotalSeconds);
        var wall = (runs.Max(r => r.End) - runs.Min(r => r.Start)).TotalSeconds;
        return new SlotUtilization(busy, WorkerSlots.SlotsUsed(runs).Values.Sum(), wall);
    }

    /// <summary>One line for <c>./sweep status</c>, e.g. <c>slot utilization 91.3% (1234 busy slot-seconds over 2 slots x 676 s)</c>.</summary>
    public string Describe() => Slots == 0
        ? "slot utilization: no run yet"
        : string.Create(CultureInfo.InvariantCulture,
            $"slot utilization {Ratio * 100:0.0}% ({BusySlotSeconds:0} busy slot-seconds over {Slots} slot(s) x {WallSeconds:0} s)");
}
