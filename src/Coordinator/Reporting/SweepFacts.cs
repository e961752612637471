using System.Collections.Immutable;
using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Reporting;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Reporting;

/// <summary>
/// One trial as the report draws it. Times are minutes since the sweep's first dispatch. The histories start at epoch
/// <see cref="HistoryStart"/>: 0 when they come from a run's result (the check after the first update first), 1 when
/// they come from epoch reports (a trial pruned while running).
/// </summary>
internal sealed record TrialFacts(
    string TrialId,
    int Stage,
    TrialStatus Status,
    TrialConfig Params,
    double? BestValAcc,
    ImmutableArray<double> TrainAccHistory,
    ImmutableArray<double> ValAccHistory,
    ImmutableArray<double> LossHistory,
    double? StartMinutes,
    double? EndMinutes,
    string? Worker,
    int? Slot,
    int EpochsRun,
    long FinishOrder,
    int HistoryStart = 0);

/// <summary>
/// One run of a trial on a worker slot, as the worker timeline draws it (a trial that paused at rungs has one per rung).
/// Times are minutes since the sweep's first dispatch.
/// </summary>
internal sealed record RunFacts(string TrialId, int Stage, bool Running, string Worker, int Slot, double StartMinutes, double EndMinutes);

/// <summary>
/// What the report and the dashboard draw, read once from a sweep state: every dispatched or finished trial with its
/// histories and times, the searched dimensions, each stage's sampled space, and the leaderboard.
/// </summary>
internal sealed class SweepFacts
{
    private SweepFacts(SweepState state, DateTimeOffset now)
    {
        State = state;
        Now = now;
        Name = state.Spec?.Name ?? "";
        Searched = state.Spec is { } spec ? [.. spec.Space.Dimensions.Where(d => d.IsSearched)] : [];
        StageSpaces = Search.Reporting.StageSpaces.Of(state);
        Leaderboard = Search.Reporting.Leaderboard.From(state);
        var started = state.Trials.Values.Where(t => t.DispatchedAt is not null).Select(t => t.DispatchedAt!.Value).DefaultIfEmpty(now).Min();
        Origin = started;
        var slots = WorkerSlots.Assign(state.Trials.Values, now);
        Trials = [.. state.Trials.Values.OrderBy(t => t.Ordinal).Select(t => new TrialFacts(
            t.TrialId, t.Stage, t.Status, t.Spec.Params,
            t.Result is { } r && t.Status == TrialStatus.Completed ? r.BestValAcc : null,
            t.Outcome is { TrainAccHistory.IsDefault: false } a ? a.TrainAccHistory : [.. t.Epochs.Select(e => e.TrainAcc)],
            t.Outcome is { ValAccHistory.IsDefault: false } v ? v.ValAccHistory : [.. t.Epochs.Select(e => e.ValAcc)],
            [.. t.Epochs.Select(e => e.Loss)],
            t.DispatchedAt is { } at ? (at - started).TotalMinutes : null,
            t.DispatchedAt is null ? null : (WorkerSlots.End(t, now) - started).TotalMinutes,
            t.Worker, slots.TryGetValue(t.TrialId, out var slot) ? slot : null,
            t.Outcome?.EpochsRun ?? t.Epochs.Count, t.FinishOrder, t.Outcome is { ValAccHistory.IsDefault: false } ? 0 : 1))];
        Runs = [.. WorkerSlots.AssignRuns(state.Trials.Values, now).Select(a => new RunFacts(
            a.Run.TrialId, state.Trials[a.Run.TrialId].Stage, a.Run.End == now && state.Trials[a.Run.TrialId].Status == TrialStatus.Running,
            a.Run.Worker, a.Slot, (a.Run.Start - started).TotalMinutes, (a.Run.End - started).TotalMinutes))];
    }

    public static SweepFacts Of(SweepState state, DateTimeOffset now) => new(state, now);

    public SweepState State { get; }
    public DateTimeOffset Now { get; }
    public DateTimeOffset Origin { get; }
    public string Name { get; }
    public ImmutableArray<Dimension> Searched { get; }
    public ImmutableSortedDictionary<int, SearchSpace> StageSpaces { get; }
    public Leaderboard Leaderboard { get; }
    public ImmutableArray<TrialFacts> Trials { get; }

    /// <summary>Every run on a worker slot, in order of start per worker.</summary>
    public ImmutableArray<RunFacts> Runs { get; }

    /// <summary>Completed trials (the ones with a val accuracy to rank), in the order they finished.</summary>
    public IEnumerable<TrialFacts> Completed => Trials.Where(t => t.BestValAcc is not null).OrderBy(t => t.FinishOrder);

    public bool HasFinishedTrials => Trials.Any(t => t.Status.IsTerminal());
}
