using System.Security.Cryptography;
using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Tests.TestSupport;
using Sweep.Models.Training;
using Sweep.Models.Training.Checkpoints;
using Sweep.Models.Training.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Training.Checkpoints;

/// <summary>The file format: verification, one exception type per problem, the best weights as a standalone state dict.</summary>
public class TrialCheckpointFileTests
{
    private static readonly FullyConnectedNetSpec Spec =
        new([30]) { Normalization = Normalization.BatchNorm, Dropout = 0.2, WeightScale = 5e-2 };

    /// <summary>Trains 2 epochs of a small BN net and returns the checkpoint after the last one.</summary>
    private static string Checkpoint(TempFolder temp, out TrainingOutcome outcome)
    {
        var data = CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = 100 });
        using var model = ModelFactory.Create(Spec, CPU, 3);
        var options = new SolverOptions
        {
            UpdateRule = UpdateRuleKind.Adam, LearningRate = 1e-3, BatchSize = 20, Epochs = 2, Seed = 4,
            CheckpointDirectory = temp.Path, CheckpointEvery = 1,
        };
        outcome = new Solver(model, data, options).Train();
        return Path.Combine(temp.Path, TrialCheckpointFile.FileName(2));
    }

    [Fact]
    public void The_trailer_is_the_sha256_of_everything_before_it_and_the_header_describes_the_run()
    {
        using var temp = new TempFolder();
        var path = Checkpoint(temp, out var outcome);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("SWEEPCKP"u8.ToArray(), bytes[..8]);
        Assert.Equal(SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)), bytes[^32..]);

        var file = TrialCheckpointFile.Open(path);
        Assert.Equal(Spec, file.Header.Model);
        Assert.Equal(2, file.Header.Epoch);
        Assert.Equal(outcome.ValAccHistory, file.Header.ValAccHistory);
        Assert.Equal(outcome.BestValAcc, file.Header.BestValAcc);
        Assert.Equal(UpdateRuleKind.Adam, file.Header.Training.UpdateRule);
        using var scope = NewDisposeScope();
        var model = file.ReadSection(CheckpointSection.Model);
        Assert.Contains("norm.0.running_mean", model.Keys);
        Assert.Contains("norm.0.running_var", model.Keys);
        var rules = file.ReadSection(CheckpointSection.UpdateRule);
        // Adam keeps m, v and t for each of the 6 parameters (2 affine layers and 1 batch norm, weight and bias each).
        Assert.Equal(18, rules.Count);
        Assert.Equal(2 * 5, rules["affine.0.weight/t"].item<long>());
        Assert.Equal(model["affine.0.weight"].shape, rules["affine.0.weight/m"].shape);
        Assert.Equal(["dropout", "sampling"], file.ReadSection(CheckpointSection.Generators).Keys.Order());
    }

    [Fact]
    public void The_best_weights_export_as_a_state_dict_that_model_load_reads()
    {
        using var temp = new TempFolder();
        var path = Checkpoint(temp, out var outcome);
        var exported = Path.Combine(temp.Path, "exported.pt");
        TrialCheckpointFile.Open(path).ExportBestWeights(exported);

        using var fresh = ModelFactory.Create(Spec, CPU, 99);
        fresh.load(exported);
        // Identical to best.pt, which the Solver wrote at the best check.
        Assert.Equal(File.ReadAllBytes(outcome.CheckpointPath!), File.ReadAllBytes(exported));
        var data = CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = 100 });
        using var generator = new Generator(1);
        var acc = new Solver(fresh, data, new SolverOptions()).CheckAccuracy(data.ValImages, data.ValLabels, null, generator);
        Assert.Equal(outcome.BestValAcc, acc, 9);
    }

    [Fact]
    public void A_flipped_byte_a_cut_file_another_version_and_other_files_each_raise_their_problem()
    {
        using var temp = new TempFolder();
        var path = Checkpoint(temp, out _);
        var bytes = File.ReadAllBytes(path);

        CheckpointException Open(byte[] content)
        {
            var file = Path.Combine(temp.Path, "bad.ckpt");
            File.WriteAllBytes(file, content);
            var e = Assert.Throws<CheckpointException>(() => TrialCheckpointFile.Open(file));
            Assert.DoesNotContain('\n', e.Message);
            Assert.Contains(file, e.Message);
            return e;
        }

        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x40;
        Assert.Equal(CheckpointProblem.Corrupt, Open(flipped).Problem);
        var truncated = Open(bytes[..(bytes.Length - 100)]);
        Assert.Equal(CheckpointProblem.Truncated, truncated.Problem);
        Assert.Contains("truncated", truncated.Message);
        var otherVersion = (byte[])bytes.Clone();
        otherVersion[8] = 2;
        var version = Open(otherVersion);
        Assert.Equal(CheckpointProblem.UnsupportedVersion, version.Problem);
        Assert.Contains("version 2", version.Message);
        Assert.Equal(CheckpointProblem.NotACheckpoint, Open("PK\u0003\u0004 a zip"u8.ToArray()).Problem);
        Assert.Equal(CheckpointProblem.Truncated, Open(bytes[..30]).Problem);
        var missing = Assert.Throws<CheckpointException>(() => TrialCheckpointFile.Open(Path.Combine(temp.Path, "missing.ckpt")));
        Assert.Equal(CheckpointProblem.Unreadable, missing.Problem);
    }

    [Fact]
    public void A_corrupt_checkpoint_is_refused_by_a_resuming_solver()
    {
        using var temp = new TempFolder();
        var path = Checkpoint(temp, out _);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 1;
        File.WriteAllBytes(path, bytes);
        var data = CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default with { NumTrain = 100 });
        using var model = ModelFactory.Create(Spec, CPU, 3);
        var solver = new Solver(model, data, new SolverOptions { UpdateRule = UpdateRuleKind.Adam, BatchSize = 20, Epochs = 3, Seed = 4, ResumeFrom = path });
        Assert.Equal(CheckpointProblem.Corrupt, Assert.Throws<CheckpointException>(() => solver.Train()).Problem);
        Assert.Empty(solver.LossHistory);
    }

    public static TheoryData<ModelSpec> Specs => new()
    {
        Spec with { Reg = 1e-3, DType = ScalarType.Float64 },
        new ThreeLayerConvNetSpec { NumFilters = 8, FilterSize = 3, HiddenDim = 20, WeightScale = 1e-2 },
        new ConvNetSpec([8, 8], [1], [16]) { Normalization = Normalization.GroupNorm, Groups = 2, Dropout = 0.1 },
        ConvNetSpec.Challenge,
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void Every_model_spec_round_trips_through_the_header(ModelSpec spec)
    {
        var header = new TrialCheckpointHeader(spec,
            new CheckpointTraining(UpdateRuleKind.Sgd, 1e-2, 0.9, 1, 10, 2, 100, null, 1, 50, CifarNormalization.PerChannel, 49_000, 1_000),
            "cpu", 1, 1, 5, 1e-2, [2.3], [0.1], [0.1], 0.1, 0);
        using var temp = new TempFolder();
        var path = Path.Combine(temp.Path, "spec.ckpt");
        TrialCheckpointFile.Write(path, header, new Dictionary<CheckpointSection, IReadOnlyList<(string Name, Tensor Value)>>());
        var read = TrialCheckpointFile.Open(path).Header;
        Assert.Equal(spec, read.Model);
        Assert.Equal(header.Training, read.Training);
        Assert.False(TrialCheckpointFile.Open(path).HasBestWeights);
        var e = Assert.Throws<CheckpointException>(() => TrialCheckpointFile.Open(path).ExportBestWeights(Path.Combine(temp.Path, "x.pt")));
        Assert.Equal(CheckpointProblem.NoBestWeights, e.Problem);
    }
}
