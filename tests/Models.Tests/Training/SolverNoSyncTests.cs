using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Tests.TestSupport;
using Sweep.Models.Training;
using Sweep.Models.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Training;

/// <summary>
/// The Solver keeps losses on the device and reads them only at checks. These tests pin that its loss and
/// accuracy histories are those of the per-step-sync loop it replaced, which <see cref="PerStepSyncReference"/>
/// keeps as an executable reference (loss read with item() after every step, divergence checked on the host
/// before backward, minibatches indexed on the host copy of the data, the correct count read per eval batch).
/// </summary>
public class SolverNoSyncTests
{
    private static CifarDataset Data(int numTrain) =>
        CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = numTrain });

    private static readonly FullyConnectedNetSpec BatchNormDropoutNet =
        new([40, 30]) { Normalization = Normalization.BatchNorm, Dropout = 0.3, WeightScale = 5e-2, Reg = 1e-3 };

    [Fact]
    public void Loss_and_accuracy_histories_match_the_per_step_sync_loop()
    {
        var data = Data(400);
        var options = new SolverOptions
        {
            UpdateRule = UpdateRuleKind.Adam, LearningRate = 2e-3, LrDecay = 0.9, BatchSize = 30, Epochs = 3, Seed = 5,
            NumTrainSamples = 150, NumValSamples = 300, EvalBatchSize = 70,
        };

        using var model = ModelFactory.Create(BatchNormDropoutNet, CPU, seed: 9);
        var solver = new Solver(model, data, options);
        var outcome = solver.Train();
        using var referenceModel = ModelFactory.Create(BatchNormDropoutNet, CPU, seed: 9);
        var reference = PerStepSyncReference.Train(referenceModel, data, options);

        Assert.Equal(TrainingStatus.Completed, outcome.Status);
        Assert.Equal(3 * (400 / 30), solver.LossHistory.Count);
        AssertClose(reference.Losses, solver.LossHistory);
        AssertClose(reference.TrainAcc, outcome.TrainAccHistory);
        AssertClose(reference.ValAcc, outcome.ValAccHistory);
        // The restored best parameters are the reference's too.
        foreach (var (ours, theirs) in model.parameters().Zip(referenceModel.parameters()))
            Assert.True(ours.allclose(theirs, rtol: 0, atol: 1e-6), "restored parameters differ from the reference run");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void A_diverging_run_keeps_the_history_up_to_the_first_bad_loss_whatever_the_check_interval(int checkEvery)
    {
        var data = Data(100);
        var spec = new FullyConnectedNetSpec([20]) { WeightScale = 1.0 };
        var options = new SolverOptions { UpdateRule = UpdateRuleKind.Sgd, LearningRate = 1e3, BatchSize = 10, Epochs = 5, DivergenceCheckEvery = checkEvery };

        using var model = ModelFactory.Create(spec, CPU, seed: 1);
        var solver = new Solver(model, data, options);
        var outcome = solver.Train();
        using var referenceModel = ModelFactory.Create(spec, CPU, seed: 1);
        var reference = PerStepSyncReference.Train(referenceModel, data, options);

        Assert.Equal(TrainingStatus.Diverged, reference.Status);
        Assert.Equal(TrainingStatus.Diverged, outcome.Status);
        AssertClose(reference.Losses, solver.LossHistory);
        AssertClose(reference.ValAcc, outcome.ValAccHistory);
        Assert.Equal(reference.Losses[^1], outcome.FinalLoss);
    }

    [Fact]
    public void Iteration_lines_are_printed_as_before()
    {
        var data = Data(60);
        var lines = new List<string>();
        var options = new SolverOptions { BatchSize = 20, Epochs = 4, PrintEvery = 5, LearningRate = 1e-3, Log = lines.Add };
        using var model = ModelFactory.Create(new FullyConnectedNetSpec([20]), CPU, seed: 2);
        var solver = new Solver(model, data, options);
        solver.Train();

        Assert.StartsWith("training on device cpu", lines[0]);
        Assert.Contains("dtype Float32", lines[0]);
        Assert.Contains("torch threads", lines[0]);
        // 12 iterations: lines for t = 0, 5, 10 in order among the epoch lines, each with the loss of that step.
        var iterationLines = lines.Where(l => l.StartsWith("(Iteration ")).ToList();
        Assert.Equal(["(Iteration 1 / 12)", "(Iteration 6 / 12)", "(Iteration 11 / 12)"], iterationLines.Select(l => l[..(l.IndexOf(')') + 1)]));
        Assert.Equal(lines.IndexOf(iterationLines[0]) + 1, lines.FindIndex(l => l.StartsWith("(Epoch 0 / 4)")));
        Assert.True(lines.IndexOf(iterationLines[1]) < lines.FindIndex(l => l.StartsWith("(Epoch 2 / 4)")));
        Assert.EndsWith(solver.LossHistory[5].ToString("F6", System.Globalization.CultureInfo.InvariantCulture), iterationLines[1]);
    }

    private static void AssertClose(IReadOnlyList<double> expected, IReadOnlyList<double> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            if (!double.IsFinite(expected[i]))
                Assert.Equal(expected[i], actual[i]);
            else
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * Math.Max(1, Math.Abs(expected[i])),
                    $"entry {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    /// <summary>The Solver's loop as it was before the loss stayed on the device, kept as the reference.</summary>
    private static class PerStepSyncReference
    {
        public sealed record Result(TrainingStatus Status, List<double> Losses, List<double> TrainAcc, List<double> ValAcc);

        public static Result Train(ClassifierModel model, CifarDataset data, SolverOptions options)
        {
            var parameters = model.parameters().ToList();
            using var generator = new Generator(Solver.SamplingSeed(options.Seed));
            using var updater = new ParameterUpdater(parameters,
                () => UpdateRule.Create(options.UpdateRule, options.EffectiveLearningRate, options.Momentum));
            var result = new Result(TrainingStatus.Completed, [], [], []);
            var iterationsPerEpoch = Math.Max(data.NumTrain / options.BatchSize, 1);
            var numIterations = options.Epochs * iterationsPerEpoch;
            var bestValAcc = 0.0;
            List<Tensor>? best = null;
            model.train();
            for (var t = 0; t < numIterations; t++)
            {
                double loss;
                using (var scope = NewDisposeScope())
                {
                    var indices = randint(0, data.NumTrain, [options.BatchSize], dtype: ScalarType.Int64, generator: generator);
                    var x = data.TrainImages.index_select(0, indices);
                    var y = data.TrainLabels.index_select(0, indices);
                    var lossTensor = nn.functional.cross_entropy(model.forward(x), y).add(model.RegularizationLoss());
                    loss = lossTensor.to(ScalarType.Float64).item<double>();
                    if (double.IsFinite(loss) && loss <= options.DivergenceLoss)
                    {
                        lossTensor.backward();
                        updater.Step();
                    }
                }
                result.Losses.Add(loss);
                if (!double.IsFinite(loss) || loss > options.DivergenceLoss)
                    return result with { Status = TrainingStatus.Diverged };
                var epochEnd = (t + 1) % iterationsPerEpoch == 0;
                if (epochEnd)
                    updater.DecayLearningRate(options.LrDecay);
                if (t != 0 && t != numIterations - 1 && !epochEnd)
                    continue;
                result.TrainAcc.Add(Accuracy(model, data.TrainImages, data.TrainLabels, options.NumTrainSamples, options.EvalBatchSize, generator));
                var valAcc = Accuracy(model, data.ValImages, data.ValLabels, options.NumValSamples, options.EvalBatchSize, generator);
                result.ValAcc.Add(valAcc);
                if (valAcc > bestValAcc)
                {
                    bestValAcc = valAcc;
                    best?.ForEach(p => p.Dispose());
                    using (no_grad())
                        best = parameters.Select(p => p.clone().DetachFromDisposeScope()).ToList();
                }
            }
            if (best is not null)
                using (no_grad())
                    for (var i = 0; i < parameters.Count; i++)
                        parameters[i].copy_(best[i]);
            best?.ForEach(p => p.Dispose());
            return result;
        }

        private static double Accuracy(ClassifierModel model, Tensor images, Tensor labels, int? numSamples, int evalBatch, Generator generator)
        {
            using var outer = NewDisposeScope();
            var count = images.shape[0];
            Tensor? indices = null;
            if (numSamples is { } k && count > k)
            {
                indices = randint(0, count, [k], dtype: ScalarType.Int64, generator: generator);
                count = k;
            }
            long correct = 0;
            model.eval();
            using (no_grad())
                for (long start = 0; start < count; start += evalBatch)
                {
                    using var scope = NewDisposeScope();
                    var length = Math.Min(evalBatch, count - start);
                    var x = indices is null ? images.narrow(0, start, length) : images.index_select(0, indices.narrow(0, start, length));
                    var y = indices is null ? labels.narrow(0, start, length) : labels.index_select(0, indices.narrow(0, start, length));
                    correct += model.forward(x).argmax(1).eq(y).sum().item<long>();
                }
            model.train();
            return (double)correct / count;
        }
    }
}
