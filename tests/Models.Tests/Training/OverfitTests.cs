using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Tests.TestSupport;
using Sweep.Models.Training;
using Sweep.Models.Training.Optim;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Training;

/// <summary>docs/seed-formulas.md §7.4: the seed models overfit a small slice of the real training data.</summary>
public class OverfitTests
{
    [Fact]
    public void Three_layer_fc_net_reaches_full_training_accuracy_on_50_images_within_20_epochs()
    {
        var data = CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = 50 });
        using var model = ModelFactory.Create(new FullyConnectedNetSpec([100, 100]) { WeightScale = 1e-2 }, CPU, seed: 1);
        var outcome = Trainer.Train(model, data, new SolverOptions
        {
            UpdateRule = UpdateRuleKind.Sgd, LearningRate = 1e-2, BatchSize = 25, Epochs = 20, Seed = 1,
        });
        Assert.Equal(21, outcome.TrainAccHistory.Count);
        Assert.Equal(1.0, outcome.TrainAccHistory[^1]);
        // Memorizing 50 images does not generalize (seed: val about 0.19).
        Assert.InRange(outcome.BestValAcc, 0.1, 0.3);
    }

    [Fact]
    public void Three_layer_convnet_reaches_high_training_accuracy_on_100_images_in_15_epochs()
    {
        var data = CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = 100 });
        using var model = ModelFactory.Create(new ThreeLayerConvNetSpec { WeightScale = 1e-2 }, CPU, seed: 1);
        var outcome = Trainer.Train(model, data, new SolverOptions
        {
            UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = 50, Epochs = 15, Seed = 1,
        });
        Assert.Equal(16, outcome.TrainAccHistory.Count);
        Assert.True(outcome.TrainAccHistory.Max() >= 0.9, $"train acc history {string.Join(", ", outcome.TrainAccHistory)}");
        Assert.True(outcome.TrainAccHistory[^1] > outcome.ValAccHistory[^1] + 0.3);
    }
}
