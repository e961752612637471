using Sweep.Search.Engine;
using Sweep.Search.Progress;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Coordinator.Tests.Reporting;

/// <summary>
/// Sweep states for report tests, built through the real engine: a coarse-to-fine sweep over three ranges and one
/// choice, run by two workers of one slot each, with per-epoch reports, a diverged trial and finish times.
/// </summary>
internal static class ReportSweeps
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static SweepSpec Spec(int firstStage = 10, int secondStage = 4) => new()
    {
        Name = "report-test",
        Seed = 3,
        Data = new DataSpec("data", 1000, 100),
        Model = "fc",
        Fixed = TrialConfig.From(("hidden_dims", ParamValue.Of([20]))),
        Space = new SearchSpace([
            new FloatRange("learning_rate", 1e-4, 1e-1, log: true),
            new FloatRange("weight_scale", 1e-3, 1e-1, log: true),
            new FloatRange("dropout", 0, 0.5),
            new Choice("normalization", [ParamValue.Of("batchnorm"), ParamValue.Of("groupnorm")]),
        ]),
        Stages = [new StageSpec(firstStage, 3, 1000), new StageSpec(secondStage, 3, 1000, TopK: 3)],
        MaxRetries = 1,
        TrialTimeout = TimeSpan.FromMinutes(5),
    };

    /// <summary>Runs the sweep to the end (or until <paramref name="finishLimit"/> trials finished) on workers w1 and w2.</summary>
    public static SweepState Run(SweepSpec spec, int finishLimit = int.MaxValue)
    {
        var engine = new SweepEngine();
        var state = Apply(SweepState.Empty, engine.Start(spec));
        var clock = T0;
        var finished = 0;
        while (!state.IsCompleted && finished < finishLimit)
        {
            foreach (var worker in new[] { "w1", "w2" })
                if (!state.RunningByWorker.ContainsKey(worker))
                    state = Apply(state, engine.Dispatch(state, worker, 1, clock));
            var trial = state.RunningTrials.First();
            var lr = trial.Spec.Params.GetDouble("learning_rate");
            var quality = Math.Clamp(0.5 - 0.1 * Math.Abs(Math.Log10(lr) + 3), 0.1, 0.5);
            // A run trains what the coordinator would send: 3 epochs, or up to a rung with successive halving or ASHA.
            var epochs = SweepEngine.RunSpec(state, trial.TrialId).Budget.Epochs;
            double[] val = [.. new[] { 0.1, quality * 0.7, quality * 0.9, quality }.Take(epochs + 1)];
            double[] train = [.. new[] { 0.1, quality * 0.8, quality, quality * 1.1 }.Take(epochs + 1)];
            for (var epoch = 1; epoch <= epochs; epoch++)
                state = Apply(state, engine.ReportEpoch(state, trial.TrialId, trial.Worker!, epoch, 2.3 - quality * epoch, train[epoch], val[epoch]));
            clock = clock.AddSeconds((20 + 10 * quality) * epochs / 3);
            var result = lr > 0.05
                ? new TrialResult(TrialStatus.Diverged, 0.1, 0, [0.1], [0.1], double.NaN, 5, null, trial.Worker, "loss is NaN")
                : new TrialResult(TrialStatus.Completed, val.Skip(1).Max(), epochs, [.. train], [.. val], 2.3 - epochs * quality, 6 * epochs, null, trial.Worker);
            state = Apply(state, engine.Complete(state, trial.TrialId, result, clock));
            finished++;
        }
        return state;
    }

    private static SweepState Apply(SweepState state, IEnumerable<ISweepEvent> events)
    {
        foreach (var e in events) state = state.Apply(e);
        return state;
    }
}
