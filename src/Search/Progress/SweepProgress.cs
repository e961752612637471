using System.Collections.Immutable;
using Sweep.Search.Engine;
using Sweep.Search.Reporting;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;

namespace Sweep.Search.Progress;

/// <summary>A running trial as a status display shows it.</summary>
/// <param name="Epochs">The trial's whole budget.</param>
/// <param name="PausesAt">With successive halving or ASHA, the rung epoch this run pauses at; 0 when it trains to <paramref name="Epochs"/>.</param>
public sealed record RunningTrialInfo(string TrialId, int Stage, string Worker, int Epoch, int Epochs, double? LatestValAcc, TimeSpan Elapsed, int PausesAt = 0)
{
    /// <summary>"2/9", or "2/9 (pauses at 3)" for a run that stops at a rung.</summary>
    public string EpochText => PausesAt > 0 ? $"{Epoch}/{Epochs} (pauses at {PausesAt})" : $"{Epoch}/{Epochs}";
}

/// <summary>The best completed trial so far.</summary>
public sealed record BestTrialInfo(string TrialId, int Stage, double BestValAcc, int BestEpoch, TrialConfig Params);

/// <summary>
/// What the coordinator shows while a sweep runs. <see cref="Eta"/> extrapolates the measured seconds per
/// (epoch x training image) of finished trials to the work left in this and later stages, divided by the number of
/// trials running at once; null until a trial has finished or when nothing runs.
/// </summary>
public sealed record SweepProgress(
    string Name,
    int Stage,
    int StageCount,
    bool IsCompleted,
    StatusCounts Counts,
    StatusCounts StageCounts,
    ImmutableArray<RunningTrialInfo> Running,
    BestTrialInfo? Best,
    TimeSpan? Eta)
{
    /// <summary>Plain-text summary (no terminal codes): a header line, then one line per running trial.</summary>
    public string ToText()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var builder = new System.Text.StringBuilder();
        var header = IsCompleted ? $"sweep {Name}: completed" : $"sweep {Name}: stage {Stage} of {StageCount}";
        builder.Append(inv, $"{header} | {Counts}");
        if (Best is { } best) builder.Append(inv, $" | best {best.TrialId} val {best.BestValAcc:0.0000} (epoch {best.BestEpoch})");
        if (Eta is { } eta && !IsCompleted) builder.Append(inv, $" | ETA {DisplayText.Duration(eta)}");
        builder.AppendLine();
        foreach (var r in Running)
        {
            var acc = r.LatestValAcc is { } v ? v.ToString("0.0000", inv) : "-";
            builder.AppendLine(inv, $"  {r.TrialId} on {r.Worker}: epoch {r.EpochText}, val {acc}, {DisplayText.Duration(r.Elapsed)}");
        }
        return builder.ToString();
    }


    internal static SweepProgress Of(SweepState state, DateTimeOffset now)
    {
        var running = state.RunningTrials
            .Select(t => new RunningTrialInfo(t.TrialId, t.Stage, t.Worker ?? "?", t.LastEpoch?.Epoch ?? 0, t.Spec.Budget.Epochs,
                t.LastEpoch?.ValAcc, t.DispatchedAt is { } at && now > at ? now - at : TimeSpan.Zero, PausesAt(state, t)))
            .ToImmutableArray();
        BestTrialInfo? best = null;
        if (state.BestTrialId is { } id && state.Trials[id] is { Result: { } result } trial)
            best = new BestTrialInfo(id, trial.Stage, result.BestValAcc, result.BestEpoch, trial.Spec.Params);
        var stageCounts = state.TrialsOfStage(state.CurrentStage).Aggregate(StatusCounts.Zero, (c, t) => c.Add(t.Status, 1));
        return new SweepProgress(state.Spec?.Name ?? "", state.CurrentStage, state.StageCount, state.IsCompleted, state.Counts,
            stageCounts, running, best, EstimateRemaining(state, running.Length));
    }

    private static int PausesAt(SweepState state, TrialState trial)
    {
        var stop = SweepEngine.RunSpec(state, trial.TrialId, trial.ResumedFrom?.Epoch ?? 0).Budget.Epochs;
        return stop < trial.Spec.Budget.Epochs ? stop : 0;
    }

    private static TimeSpan? EstimateRemaining(SweepState state, int parallel)
    {
        if (state.IsCompleted) return TimeSpan.Zero;
        if (state.Spec is null || parallel == 0) return null;
        double seconds = 0, work = 0;
        foreach (var t in state.Trials.Values)
        {
            if (t.Result is { Seconds: > 0 } r && r.EpochsRun > 0)
            {
                seconds += r.Seconds;
                work += (double)r.EpochsRun * t.Spec.Budget.NumTrain;
            }
        }
        if (work <= 0) return null;
        var secondsPerUnit = seconds / work;
        double remaining = 0;
        foreach (var t in state.TrialsOfStage(state.CurrentStage).Where(t => !t.IsTerminal))
            remaining += (double)(t.Spec.Budget.Epochs - (t.LastEpoch?.Epoch ?? 0)) * t.Spec.Budget.NumTrain;
        for (var stage = state.CurrentStage + 1; stage <= state.StageCount; stage++)
        {
            var spec = state.Spec.Stages[stage - 1];
            remaining += (double)spec.MaxTrials * spec.Epochs * spec.NumTrain;
        }
        return TimeSpan.FromSeconds(remaining * secondsPerUnit / parallel);
    }
}
