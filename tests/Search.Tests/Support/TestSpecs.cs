using System.Collections.Immutable;
using Sweep.Search.Engine;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Search.Tests.Support;

/// <summary>Specs and a deterministic fake trainer for engine tests (no HOCON, no training).</summary>
internal static class TestSpecs
{
    public static SearchSpace FcSpace() => new([
        new FloatRange("learning_rate", 1e-4, 1e-1, log: true),
        new FloatRange("weight_scale", 1e-3, 1e-1, log: true),
        new FloatRange("dropout", 0.0, 0.5),
        new IntRange("batch_size", 25, 200),
        new Choice("update_rule", [ParamValue.Of("adam"), ParamValue.Of("sgd_momentum"), ParamValue.Of("rmsprop")]),
        new Choice("hidden_dims", [ParamValue.Of([100]), ParamValue.Of([100, 100])]),
        new Fixed("reg", ParamValue.Of(1e-4)),
    ]);

    public static SweepSpec Spec(long seed = 7, int stage1 = 8, int stage2 = 4, int stage3 = 0, int maxRetries = 2, SamplerKind sampler = SamplerKind.CoarseToFine, TimeSpan? timeout = null)
    {
        var stages = ImmutableArray.CreateBuilder<StageSpec>();
        stages.Add(new StageSpec(stage1, 1, 1000));
        var narrow = sampler == SamplerKind.CoarseToFine;
        if (stage2 > 0) stages.Add(new StageSpec(stage2, 2, 2000, TopK: narrow ? 3 : 0, CarryOver: narrow ? 1 : 0, Margin: 0.1));
        if (stage3 > 0) stages.Add(new StageSpec(stage3, 3, 4000, TopK: narrow ? 2 : 0, CarryOver: 0, Margin: 0.05));
        return new SweepSpec
        {
            Name = "test",
            Seed = seed,
            Data = new DataSpec("data", 4000, 1000),
            Model = "fc",
            Fixed = TrialConfig.From(("lr_decay", ParamValue.Of(0.95))),
            Space = FcSpace(),
            Sampler = sampler,
            Stages = stages.ToImmutable(),
            MaxRetries = maxRetries,
            TrialTimeout = timeout ?? TimeSpan.FromMinutes(10),
        };
    }

    /// <summary>A deterministic "training" outcome: best near learning_rate 3e-3, diverges for huge learning rates.</summary>
    public static TrialResult FakeResult(TrialSpec trial, string worker)
    {
        var lr = trial.Params.GetDouble("learning_rate");
        var ws = trial.Params.GetDouble("weight_scale");
        if (lr > 0.05)
            return new TrialResult(TrialStatus.Diverged, 0.1, 1, [0.1, 0.1], [0.1, 0.1], double.MaxValue / 2, 1.0, null, worker);
        var distance = Math.Pow(Math.Log10(lr) - Math.Log10(3e-3), 2) + 0.3 * Math.Pow(Math.Log10(ws) + 2, 2);
        var epochs = trial.Budget.Epochs;
        var best = Math.Round(0.55 - 0.1 * distance + 0.01 * epochs, 6);
        // The Solver's shape: the epoch-0 check, then one entry per epoch.
        var history = Enumerable.Range(0, epochs + 1).Select(e => Math.Round(best - 0.01 * (epochs - e), 6)).ToImmutableArray();
        return new TrialResult(TrialStatus.Completed, history.Max(), epochs, [.. history.Select(h => h + 0.05)], history, 1.2, 2.0 * epochs, $"ckpt/{trial.TrialId}.pt", worker);
    }

    public static SweepState ApplyAll(this SweepState state, IEnumerable<ISweepEvent> events)
    {
        foreach (var e in events) state = state.Apply(e);
        return state;
    }

    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
}
