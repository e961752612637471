using System.Text.Json;
using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Training.Checkpoints;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.TestSupport;
using Sweep.Worker.Cli;
using Sweep.Worker.Trials;
using static TorchSharp.torch;

namespace Sweep.Worker.Tests.Cli;

/// <summary>`export-weights` and `evaluate` on a real trial checkpoint, and their one-line errors.</summary>
public sealed class CheckpointCommandsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sweep-ckpt-cli-").FullName;

    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = WorkerCli.Run(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>A 2-epoch trial of a small BN net on 200 images; returns its last checkpoint.</summary>
    private string TrainedCheckpoint()
    {
        var trial = new TrialSpec("s1-t0001", 1,
            TrialConfig.From(("model", ParamValue.Of("fc")), ("hidden_dims", ParamValue.Of([40])), ("normalization", ParamValue.Of("batchnorm")),
                ("update_rule", ParamValue.Of("adam")), ("learning_rate", ParamValue.Of(1e-3)), ("batch_size", ParamValue.Of(50))),
            new TrialBudget(2, 200), 17);
        var epochs = new List<TrialEpochProgress>();
        TorchTrialRunner.Create(RepoPaths.CifarDirectory())
            .Run(trial, new TrialSlot(0, "cpu", 1, _folder), new TrialRunOptions(CheckpointEvery: 2), epochs.Add, CancellationToken.None);
        return epochs[^1].CheckpointPath!;
    }

    [Fact]
    public void Evaluate_prints_one_json_line_with_the_test_accuracy_of_the_exported_best_weights()
    {
        var checkpoint = TrainedCheckpoint();
        var weights = Path.Combine(_folder, "best.pt");
        var export = Run("export-weights", "--checkpoint", checkpoint, "--out", weights);
        Assert.Equal(0, export.Exit);
        Assert.True(File.Exists(weights));
        using (var exported = JsonDocument.Parse(Assert.Single(export.Output.TrimEnd().Split('\n'))))
        {
            Assert.Equal(Path.GetFullPath(weights), exported.RootElement.GetProperty("weights").GetString());
            Assert.Equal(TrialCheckpointFile.Open(checkpoint).Header.BestEpoch, exported.RootElement.GetProperty("best_epoch").GetInt32());
            Assert.Equal(JsonValueKind.Object, exported.RootElement.GetProperty("model").ValueKind);
        }

        var evaluate = Run("evaluate", "--checkpoint", checkpoint, "--data", RepoPaths.CifarDirectory(), "--device", "cpu");
        Assert.Equal(0, evaluate.Exit);
        var line = Assert.Single(evaluate.Output.TrimEnd().Split('\n'));
        using var json = JsonDocument.Parse(line);
        var testAcc = json.RootElement.GetProperty("test_acc").GetDouble();
        Assert.Equal(1000, json.RootElement.GetProperty("num_test").GetInt32());
        var header = TrialCheckpointFile.Open(checkpoint).Header;
        Assert.Equal(header.BestEpoch, json.RootElement.GetProperty("best_epoch").GetInt32());

        // Independently: the exported state dict through model.load, scored on the 1,000 test images.
        var data = CifarLoader.Load(RepoPaths.CifarDirectory(), CifarSplitOptions.Default);
        using var scope = NewDisposeScope();
        using var model = ModelFactory.Create(header.Model, CPU, 5);
        model.load(weights);
        model.eval();
        using var _ = no_grad();
        var correct = model.forward(data.TestImages).argmax(1).eq(data.TestLabels).sum().item<long>();
        Assert.Equal(correct / 1000.0, testAcc, 12);
        Assert.InRange(testAcc, 0.12, 1.0); // better than chance after 2 epochs on 200 images
    }

    [Fact]
    public void Every_bad_input_is_one_line_and_exit_2()
    {
        var checkpoint = TrainedCheckpoint();
        var corrupt = Path.Combine(_folder, "corrupt.ckpt");
        var bytes = File.ReadAllBytes(checkpoint);
        bytes[100] ^= 0xFF;
        File.WriteAllBytes(corrupt, bytes);
        var notCheckpoint = Path.Combine(_folder, "notes.txt");
        File.WriteAllText(notCheckpoint, "hello");
        var missingFolder = Path.Combine(_folder, "no-such-folder", "best.pt");

        (string[] Args, string Expected)[] cases =
        [
            (["export-weights", "--checkpoint", Path.Combine(_folder, "missing.ckpt"), "--out", Path.Combine(_folder, "x.pt")], "cannot be read"),
            (["export-weights", "--checkpoint", corrupt, "--out", Path.Combine(_folder, "x.pt")], "SHA-256"),
            (["export-weights", "--checkpoint", notCheckpoint, "--out", Path.Combine(_folder, "x.pt")], "not a Sweep trial checkpoint"),
            (["export-weights", "--checkpoint", checkpoint, "--out", missingFolder], "cannot write"),
            (["export-weights", "--out", Path.Combine(_folder, "x.pt")], "--checkpoint"),
            (["evaluate", "--checkpoint", corrupt, "--data", RepoPaths.CifarDirectory()], "SHA-256"),
            (["evaluate", "--checkpoint", checkpoint, "--data", Path.Combine(_folder, "no-data")], "does not exist"),
            (["evaluate", "--checkpoint", checkpoint, "--data", RepoPaths.CifarDirectory(), "--device", "tpu"], "unknown device 'tpu'"),
        ];
        foreach (var (args, expected) in cases)
        {
            var (exit, _, error) = Run(args);
            Assert.True(exit == 2, $"{string.Join(' ', args)} exited {exit}: {error}");
            Assert.Contains(expected, error);
            Assert.Single(error.TrimEnd().Split('\n'));
            Assert.DoesNotContain("   at ", error);
        }
        Assert.False(File.Exists(Path.Combine(_folder, "x.pt")));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
