using Sweep.Search.Spaces;
using Sweep.Search.Specs;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>Small sweep specs for cluster tests (the fake runner ignores the data and the model).</summary>
public static class TestSweeps
{
    public static SweepSpec TwoStages(string name = "cluster-test", int firstStage = 4, int secondStage = 2, int epochs = 2,
        int maxRetries = 1, TimeSpan? timeout = null) => new()
    {
        Name = name,
        Seed = 11,
        Data = new DataSpec("data", 200, 100),
        Model = "fc",
        Fixed = TrialConfig.From(("hidden_dims", ParamValue.Of([20]))),
        Space = new SearchSpace([new FloatRange("learning_rate", 1e-4, 1e-2, log: true), new FloatRange("weight_scale", 1e-3, 1e-1, log: true)]),
        Stages = [new StageSpec(firstStage, epochs, 200), new StageSpec(secondStage, epochs, 200, TopK: 2)],
        MaxRetries = maxRetries,
        TrialTimeout = timeout ?? TimeSpan.FromMinutes(5),
    };
}
