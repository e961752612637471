
namespace Sweep.Search.Tests.Support;

/// <summary>
/// Entry point of the test assembly (the SDK's generated one is turned off), used to run the sweep planning in a
/// separate process: <c>dotnet Sweep.Search.Tests.dll plan-trials SEED</c> prints every trial a simulated 3-stage
/// sweep runs. Under <c>dotnet test</c> this Main is never called.
/// </summary>
public static class ReproEntryPoint
{
    public static int Main(string[] args)
    {
        if (args is ["plan-trials", var seedText] && long.TryParse(seedText, out var seed))
        {
            Console.Out.Write(PlannedTrials(seed));
            return 0;
        }
        if (args is ["plan-trials", var tpeSeedText, "tpe"] && long.TryParse(tpeSeedText, out var tpeSeed))
        {
            Console.Out.Write(PlannedTpeTrials(tpeSeed));
            return 0;
        }
        Console.Error.WriteLine("usage: Sweep.Search.Tests plan-trials SEED [tpe]");
        return 2;
    }

    /// <summary>All trials (id, seed, params) of the simulated sweep, one per line.</summary>
    public static string PlannedTrials(long seed) => Lines(new SweepSimulator(TestSpecs.Spec(seed: seed, stage1: 6, stage2: 3, stage3: 2), 2, 1, 3).Run());

    /// <summary>The same with the TPE sampler, modelling from stage 2 on (4 startup trials).</summary>
    public static string PlannedTpeTrials(long seed) => Lines(new SweepSimulator(
        TestSpecs.Spec(seed: seed, stage1: 6, stage2: 3, stage3: 2, sampler: Search.Specs.SamplerKind.Tpe) with { Tpe = new Search.Specs.TpeSettings(NStartupTrials: 4) },
        2, 1, 3).Run());

    private static string Lines(Search.Engine.SweepState state) =>
        string.Concat(state.Trials.Values.OrderBy(t => t.Ordinal).Select(t => $"{t.TrialId} {t.Spec.Seed} {t.Spec.Params.Key}\n"));
}
