using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Tests.TestSupport;
using Sweep.Models.Training;
using Sweep.Models.Training.Checkpoints;
using Sweep.Models.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Training.Checkpoints;

/// <summary>A Solver resumed from a trial checkpoint continues exactly as the run that never stopped.</summary>
public class SolverResumeTests
{
    private static CifarDataset Data(int numTrain) =>
        CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = numTrain });

    private static readonly FullyConnectedNetSpec BatchNormDropout =
        new([40, 30]) { Normalization = Normalization.BatchNorm, Dropout = 0.3, WeightScale = 5e-2 };

    private static readonly FullyConnectedNetSpec Plain = new([40]) { WeightScale = 1e-2 };

    private static SolverOptions Options(UpdateRuleKind rule, string folder) => new()
    {
        UpdateRule = rule, LearningRate = rule == UpdateRuleKind.SgdMomentum ? 2e-4 : 1e-3, LrDecay = 0.9, BatchSize = 25, Epochs = 3,
        NumTrainSamples = 100, NumValSamples = 300, Seed = 21, CheckpointDirectory = folder, CheckpointEvery = 1,
    };

    private static readonly ConvNetSpec SmallConvNet = new([4, 4], [1], [10]) { Normalization = Normalization.BatchNorm, Dropout = 0.2 };

    public static TheoryData<string, int> Runs => new()
    {
        { "adam_bn_dropout", 1 }, { "adam_bn_dropout", 2 }, { "sgd_momentum", 1 }, { "convnet_rmsprop", 1 },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void A_run_resumed_after_an_epoch_ends_exactly_as_the_uninterrupted_one(string run, int resumeAfter)
    {
        var (spec, rule) = run switch
        {
            "sgd_momentum" => ((ModelSpec)Plain, UpdateRuleKind.SgdMomentum),
            "convnet_rmsprop" => (SmallConvNet, UpdateRuleKind.RmsProp),
            _ => (BatchNormDropout, UpdateRuleKind.Adam),
        };
        var data = Data(200);
        using var temp = new TempFolder();
        var whole = Path.Combine(temp.Path, "whole");
        using var uninterrupted = ModelFactory.Create(spec, CPU, 5);
        var reference = new Solver(uninterrupted, data, Options(rule, whole));
        var expected = reference.Train();
        Assert.Equal(TrainingStatus.Completed, expected.Status);

        // Another init seed: everything the run depends on must come from the checkpoint.
        using var resumedModel = ModelFactory.Create(spec, CPU, 77);
        var reports = new List<EpochReport>();
        var resumed = new Solver(resumedModel, data, Options(rule, Path.Combine(temp.Path, "resumed")) with
        {
            ResumeFrom = Path.Combine(whole, TrialCheckpointFile.FileName(resumeAfter)),
        });
        var actual = resumed.Train(reports.Add);

        Assert.Equal(TrainingStatus.Completed, actual.Status);
        Assert.Equal(reference.LossHistory, resumed.LossHistory);
        Assert.Equal(expected.TrainAccHistory, actual.TrainAccHistory);
        Assert.Equal(expected.ValAccHistory, actual.ValAccHistory);
        Assert.Equal(expected.BestValAcc, actual.BestValAcc);
        Assert.Equal(expected.BestEpoch, actual.BestEpoch);
        Assert.Equal(expected.FinalLoss, actual.FinalLoss);
        Assert.Equal(reference.LearningRate, resumed.LearningRate, 15);
        Assert.Equal(Enumerable.Range(resumeAfter + 1, 3 - resumeAfter), reports.Select(r => r.Epoch));
        var expectedState = uninterrupted.state_dict();
        foreach (var (name, tensor) in resumedModel.state_dict())
            Assert.True(tensor.eq(expectedState[name]).all().item<bool>(), $"{name} differs");
        // best.pt is there after a resume even when the best epoch was before it.
        Assert.True(File.Exists(actual.CheckpointPath));
    }

    [Fact]
    public void A_run_resumed_from_its_last_checkpoint_with_more_epochs_matches_a_longer_run()
    {
        var data = Data(200);
        using var temp = new TempFolder();
        using var longModel = ModelFactory.Create(BatchNormDropout, CPU, 5);
        var longRun = new Solver(longModel, data, Options(UpdateRuleKind.Adam, Path.Combine(temp.Path, "long")));
        longRun.Train();

        var shortFolder = Path.Combine(temp.Path, "short");
        using (var shortModel = ModelFactory.Create(BatchNormDropout, CPU, 5))
            new Solver(shortModel, data, Options(UpdateRuleKind.Adam, shortFolder) with { Epochs = 2 }).Train();
        using var carried = ModelFactory.Create(BatchNormDropout, CPU, 5);
        var continued = new Solver(carried, data, Options(UpdateRuleKind.Adam, Path.Combine(temp.Path, "carried")) with
        {
            ResumeFrom = Path.Combine(shortFolder, TrialCheckpointFile.FileName(2)),
        });
        continued.Train();

        Assert.Equal(longRun.LossHistory, continued.LossHistory);
        Assert.Equal(longRun.ValAccHistory, continued.ValAccHistory);
    }

    [Fact]
    public void Checkpoints_come_after_every_nth_epoch_and_the_last_with_their_path_in_the_report()
    {
        var data = Data(100);
        using var temp = new TempFolder();
        using var model = ModelFactory.Create(Plain, CPU, 1);
        var reports = new List<EpochReport>();
        var options = Options(UpdateRuleKind.Sgd, temp.Path) with { Epochs = 5, CheckpointEvery = 2 };
        new Solver(model, data, options).Train(reports.Add);

        Assert.Equal(new[] { null, null, "epoch-2.ckpt", null, "epoch-4.ckpt", "epoch-5.ckpt" },
            reports.Select(r => r.CheckpointPath is { } p ? Path.GetFileName(p) : null));
        Assert.All(reports.Where(r => r.CheckpointPath is not null), r => Assert.True(File.Exists(r.CheckpointPath)));
        Assert.Empty(Directory.GetFiles(temp.Path, "*.partial"));
        var last = TrialCheckpointFile.Open(reports[^1].CheckpointPath!);
        Assert.Equal(5, last.Header.Epoch);
        Assert.Equal(5 * 4, last.Header.Iteration);
        Assert.Equal(Plain, last.Header.Model);
        Assert.Equal(6, last.Header.ValAccHistory.Count);
    }

    [Fact]
    public void Checkpointing_and_resuming_leave_no_tensors_behind()
    {
        var data = Data(100);
        using var temp = new TempFolder();
        using var model = ModelFactory.Create(BatchNormDropout, CPU, 1);
        var options = Options(UpdateRuleKind.Adam, temp.Path) with { Epochs = 2 };
        new Solver(model, data, options).Train();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        new Solver(model, data, options with { ResumeFrom = Path.Combine(temp.Path, TrialCheckpointFile.FileName(1)) }).Train();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Theory]
    [InlineData("model")]
    [InlineData("batch_size")]
    [InlineData("seed")]
    [InlineData("num_train")]
    public void A_checkpoint_of_another_run_is_refused_as_a_mismatch(string change)
    {
        using var temp = new TempFolder();
        using (var model = ModelFactory.Create(Plain, CPU, 1))
            new Solver(model, Data(100), Options(UpdateRuleKind.Sgd, temp.Path) with { Epochs = 1 }).Train();
        var options = Options(UpdateRuleKind.Sgd, Path.Combine(temp.Path, "other")) with { ResumeFrom = Path.Combine(temp.Path, "epoch-1.ckpt") };
        var spec = change == "model" ? Plain with { HiddenDims = [41] } : Plain;
        options = change switch
        {
            "batch_size" => options with { BatchSize = 20 },
            "seed" => options with { Seed = 22 },
            _ => options,
        };
        using var other = ModelFactory.Create(spec, CPU, 1);
        var e = Assert.Throws<CheckpointException>(() => new Solver(other, Data(change == "num_train" ? 150 : 100), options).Train());
        Assert.Equal(CheckpointProblem.Mismatch, e.Problem);
        Assert.Contains(change == "model" ? "hidden_dims=[40]" : change, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
