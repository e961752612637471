using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Tests.TestSupport;
using Sweep.Models.Training;
using Sweep.Models.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Training;

/// <summary>Solver semantics of docs/seed-formulas.md §5 and the sweep extras (callback, seed, divergence, cancellation, checkpoint).</summary>
public class SolverTests
{
    private static CifarDataset Data(int numTrain) =>
        CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = numTrain });

    private static ClassifierModel SmallFc(long seed = 1, double weightScale = 1e-2) =>
        ModelFactory.Create(new FullyConnectedNetSpec([20]) { WeightScale = weightScale }, CPU, seed);

    [Fact]
    public void Iterations_checks_histories_and_reports_follow_the_seed_solver()
    {
        var data = Data(50);
        using var model = SmallFc(weightScale: 1e-3);
        var reports = new List<EpochReport>();
        var lines = new List<string>();
        var solver = new Solver(model, data, new SolverOptions
        {
            UpdateRule = UpdateRuleKind.Sgd, LearningRate = 1e-3, BatchSize = 20, Epochs = 3, PrintEvery = 1, Log = lines.Add, Seed = 7,
        });

        var outcome = solver.Train(reports.Add);

        // iterations_per_epoch = max(50 / 20, 1) = 2, so 6 iterations; checks after t = 0 and at each epoch end.
        Assert.Equal(2, solver.IterationsPerEpoch);
        Assert.Equal(6, solver.LossHistory.Count);
        Assert.Equal(TrainingStatus.Completed, outcome.Status);
        Assert.Equal(4, outcome.TrainAccHistory.Count);
        Assert.Equal(4, outcome.ValAccHistory.Count);
        Assert.Equal(new[] { 0, 1, 2, 3 }, reports.Select(r => r.Epoch));
        Assert.Equal(outcome.ValAccHistory, reports.Select(r => r.ValAcc));
        Assert.Equal(outcome.ValAccHistory.Max(), outcome.BestValAcc);
        Assert.Equal(outcome.ValAccHistory.ToList().IndexOf(outcome.BestValAcc), outcome.BestEpoch);
        Assert.Equal(solver.LossHistory[^1], outcome.FinalLoss);
        Assert.Equal(solver.LossHistory.Take(1).Average(), reports[0].Loss, 12);
        Assert.Equal(solver.LossHistory.Skip(1).Take(1).Average(), reports[1].Loss, 12);
        Assert.All(reports, r => Assert.True(r.Seconds >= 0));
        // The first line says where and how the run trains; then the seed Solver's lines.
        Assert.StartsWith("training on device cpu", lines[0]);
        Assert.Equal("(Iteration 1 / 6) loss: " + solver.LossHistory[0].ToString("F6", System.Globalization.CultureInfo.InvariantCulture), lines[1]);
        Assert.StartsWith("(Epoch 0 / 3) train acc: ", lines[2]);
        Assert.Contains("; val_acc: ", lines[2]);
        Assert.Equal(11, lines.Count);
        // Val accuracy is over the whole 1,000-image val set: a multiple of 1/1000.
        Assert.All(outcome.ValAccHistory, v => Assert.Equal(Math.Round(v * 1000), v * 1000, 9));
        // Tiny weights give near-uniform scores: the first loss is about ln 10 (docs/seed-formulas.md §7.3).
        Assert.InRange(solver.LossHistory[0], 2.28, 2.33);
    }

    [Fact]
    public void A_batch_larger_than_the_data_still_gives_one_iteration_per_epoch()
    {
        var data = Data(30);
        using var model = SmallFc();
        var solver = new Solver(model, data, new SolverOptions { BatchSize = 100, Epochs = 2, LearningRate = 1e-3 });
        var outcome = solver.Train();
        Assert.Equal(1, solver.IterationsPerEpoch);
        Assert.Equal(2, solver.LossHistory.Count);
        // t = 0 is also an epoch end here, so there is one check per epoch (as in the seed Solver).
        Assert.Equal(2, outcome.ValAccHistory.Count);
    }

    [Fact]
    public void The_same_seed_reproduces_a_run_and_another_seed_does_not()
    {
        var data = Data(200);
        var options = new SolverOptions { UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = 25, Epochs = 2, Seed = 11 };
        List<double> Run(long modelSeed, long solverSeed)
        {
            using var model = ModelFactory.Create(new FullyConnectedNetSpec([30]) { Dropout = 0.3, WeightScale = 1e-2 }, CPU, modelSeed);
            var solver = new Solver(model, data, options with { Seed = solverSeed });
            var outcome = solver.Train();
            return solver.LossHistory.Concat(outcome.ValAccHistory).ToList();
        }

        var first = Run(3, 11);
        Assert.Equal(first, Run(3, 11));
        Assert.NotEqual(first, Run(3, 12));
        Assert.NotEqual(first, Run(4, 11));
    }

    [Fact]
    public async Task Concurrent_trials_in_one_process_give_the_same_results_as_sequential_ones()
    {
        var data = Data(200);
        var options = new SolverOptions { UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = 20, Epochs = 2 };
        List<double> Run(long seed)
        {
            using var model = ModelFactory.Create(new FullyConnectedNetSpec([30]) { Dropout = 0.5, WeightScale = 1e-2 }, CPU, seed);
            var solver = new Solver(model, data, options with { Seed = seed });
            solver.Train();
            return solver.LossHistory.ToList();
        }

        var sequential = new[] { Run(1), Run(2) };
        var first = Task.Run(() => Run(1));
        var second = Task.Run(() => Run(2));
        Assert.Equal(sequential[0], await first);
        Assert.Equal(sequential[1], await second);
    }

    [Fact]
    public void The_best_validation_parameters_are_restored_at_the_end()
    {
        var data = Data(500);
        using var model = SmallFc(seed: 5);
        // A large learning rate makes val accuracy move around, so the last epoch is rarely the best.
        var solver = new Solver(model, data, new SolverOptions { UpdateRule = UpdateRuleKind.Sgd, LearningRate = 5e-3, BatchSize = 50, Epochs = 4, Seed = 3 });
        var outcome = solver.Train();
        using var generator = new Generator(1);
        var valAfter = solver.CheckAccuracy(data.ValImages, data.ValLabels, null, generator);
        Assert.Equal(outcome.BestValAcc, valAfter, 9);
        Assert.Equal(outcome.ValAccHistory.Max(), outcome.BestValAcc);
    }

    [Fact]
    public void Learning_rate_is_multiplied_by_lr_decay_after_every_epoch()
    {
        var data = Data(40);
        using var model = SmallFc();
        var solver = new Solver(model, data, new SolverOptions { LearningRate = 1e-2, LrDecay = 0.5, BatchSize = 20, Epochs = 3 });
        solver.Train();
        Assert.Equal(1e-2 * 0.125, solver.LearningRate, 15);
    }

    [Fact]
    public void A_loss_that_explodes_marks_the_run_diverged_and_stops_it()
    {
        var data = Data(100);
        using var model = SmallFc(weightScale: 1.0);
        var solver = new Solver(model, data, new SolverOptions { UpdateRule = UpdateRuleKind.Sgd, LearningRate = 1e3, BatchSize = 10, Epochs = 5 });
        var outcome = solver.Train();
        Assert.Equal(TrainingStatus.Diverged, outcome.Status);
        Assert.True(solver.LossHistory.Count < solver.NumIterations);
        var last = solver.LossHistory[^1];
        Assert.True(!double.IsFinite(last) || last > 1e4, $"last loss {last}");
    }

    [Fact]
    public void Cancelling_stops_the_run_with_status_cancelled()
    {
        var data = Data(100);
        using var model = SmallFc();
        using var cancellation = new CancellationTokenSource();
        var solver = new Solver(model, data, new SolverOptions { LearningRate = 1e-3, BatchSize = 10, Epochs = 5 });
        var outcome = solver.Train(report =>
        {
            if (report.Epoch == 1)
                cancellation.Cancel();
        }, cancellation.Token);
        Assert.Equal(TrainingStatus.Cancelled, outcome.Status);
        Assert.Equal(2, outcome.ValAccHistory.Count);
        Assert.Equal(10, solver.LossHistory.Count);
    }

    [Fact]
    public void Best_weights_are_checkpointed_and_load_into_a_fresh_model()
    {
        var data = Data(200);
        using var temp = new TempFolder();
        using var model = SmallFc(seed: 2);
        var options = new SolverOptions { UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = 50, Epochs = 2, CheckpointDirectory = Path.Combine(temp.Path, "trial") };
        var outcome = Trainer.Train(model, data, options);
        Assert.NotNull(outcome.CheckpointPath);
        Assert.True(File.Exists(outcome.CheckpointPath));

        using var fresh = SmallFc(seed: 99);
        fresh.load(outcome.CheckpointPath!);
        using var generator = new Generator(1);
        var freshSolver = new Solver(fresh, data, options);
        Assert.Equal(outcome.BestValAcc, freshSolver.CheckAccuracy(data.ValImages, data.ValLabels, null, generator), 9);
    }

    [Fact]
    public void Training_leaves_no_tensors_behind()
    {
        var data = Data(100);
        using var model = SmallFc();
        var options = new SolverOptions { UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = 10, Epochs = 1 };
        Trainer.Train(model, data, options);
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Trainer.Train(model, data, options with { Epochs = 3 });
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Invalid_options_fail_with_a_one_line_message()
    {
        var data = Data(50);
        using var model = SmallFc();
        Assert.Contains("batch_size", Assert.Throws<ArgumentException>(() => new Solver(model, data, new SolverOptions { BatchSize = 0 })).Message);
        Assert.Contains("learning_rate", Assert.Throws<ArgumentException>(() => new Solver(model, data, new SolverOptions { LearningRate = -1 })).Message);
        Assert.Contains("lr_decay", Assert.Throws<ArgumentException>(() => new Solver(model, data, new SolverOptions { LrDecay = 1.5 })).Message);
    }
}
