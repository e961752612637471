using System.CommandLine;
using System.Text.Json.Nodes;
using Sweep.Contract.Cli;
using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Runtime;
using Sweep.Models.Training;
using Sweep.Models.Training.Checkpoints;
using TorchSharp;

namespace Sweep.Worker.Cli;

/// <summary>
/// The worker-side commands on a trial checkpoint (docs/checkpoint-format.md), which the coordinator's `sweep export`
/// and `sweep test` call: `export-weights` writes the best weights as a TorchSharp state dict, `evaluate` measures them
/// once on the test split. Every bad input is one line on stderr and <see cref="ExitCodes.BadInput"/>.
/// </summary>
public static class CheckpointCommands
{
    /// <summary>`export-weights --checkpoint F --out FILE.pt`: prints one JSON line {"weights", "best_epoch", "best_val_acc", "model"}.</summary>
    public static Command ExportWeights()
    {
        var command = new Command("export-weights", "Write the best weights of a trial checkpoint as a TorchSharp state dict (model.load(FILE.pt) reads it).");
        var checkpoint = CheckpointOption();
        var output = new Option<string>("--out") { Description = "the .pt file to write (its folder must exist)", Required = true };
        command.Options.Add(checkpoint);
        command.Options.Add(output);
        command.SetAction(parseResult => Guarded("export-weights", parseResult.InvocationConfiguration.Error, () =>
        {
            var file = TrialCheckpointFile.Open(parseResult.GetValue(checkpoint)!);
            var path = parseResult.GetValue(output)!;
            try
            {
                file.ExportBestWeights(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new SweepUsageException($"cannot write {path}: {e.Message.Split('\n')[0]}; choose a writable file in an existing folder");
            }
            // One JSON line: the coordinator's `sweep export` puts the model description into its sidecar.
            var line = new JsonObject
            {
                ["weights"] = Path.GetFullPath(path),
                ["best_epoch"] = file.Header.BestEpoch,
                ["best_val_acc"] = file.Header.BestValAcc,
                ["model"] = JsonNode.Parse(file.ModelJson()),
            };
            parseResult.InvocationConfiguration.Output.WriteLine(line.ToJsonString());
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>`evaluate --checkpoint F [--data DIR] [--device D]`: one JSON line {"test_acc", "num_test", "best_epoch"}.</summary>
    public static Command Evaluate()
    {
        var command = new Command("evaluate",
            "Evaluate the best weights of a trial checkpoint once on the test split (the first 1,000 test images); prints one JSON line.");
        var checkpoint = CheckpointOption();
        var data = new Option<string>("--data") { Description = "CIFAR-10 folder (cifar-10-batches-bin or -py, or a parent); default $SWEEP_DATA" };
        var device = new Option<string>("--device") { Description = "auto | cpu | cuda | cuda:N (default auto)" };
        command.Options.Add(checkpoint);
        command.Options.Add(data);
        command.Options.Add(device);
        command.SetAction(parseResult => Guarded("evaluate", parseResult.InvocationConfiguration.Error, () =>
        {
            var dataDirectory = NonEmpty(parseResult.GetValue(data)) ?? NonEmpty(Environment.GetEnvironmentVariable("SWEEP_DATA"))
                ?? throw new SweepUsageException("no CIFAR-10 folder given; pass --data DIR or set SWEEP_DATA");
            var torchDevice = TorchDevices.Resolve(parseResult.GetValue(device));
            var file = TrialCheckpointFile.Open(parseResult.GetValue(checkpoint)!);
            var (testAcc, numTest) = TestAccuracy(file, dataDirectory, torchDevice);
            var line = new JsonObject { ["test_acc"] = testAcc, ["num_test"] = numTest, ["best_epoch"] = file.Header.BestEpoch };
            parseResult.InvocationConfiguration.Output.WriteLine(line.ToJsonString());
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>
    /// The accuracy of the checkpoint's best weights on the test split of <paramref name="dataDirectory"/>, preprocessed as
    /// the trial's data was (its header's normalization and split), in test mode under no_grad.
    /// </summary>
    public static (double Accuracy, int Count) TestAccuracy(TrialCheckpointFile file, string dataDirectory, torch.Device device)
    {
        var training = file.Header.Training;
        var data = CifarLoader.Load(dataDirectory, CifarSplitOptions.Default with
        {
            Normalization = training.DataNormalization,
            TrainingSplitSize = training.TrainingSplitSize,
            ValidationSize = training.ValidationSize,
            DownloadIfEmpty = false,
        });
        using var scope = torch.NewDisposeScope();
        using var model = ModelFactory.Create(file.Header.Model, device, training.Seed);
        file.LoadInto(model, CheckpointSection.Best);
        using var unused = new torch.Generator(0, device); // CheckAccuracy draws nothing when it measures every image
        var accuracy = new Solver(model, data, new SolverOptions()).CheckAccuracy(data.TestImages, data.TestLabels, null, unused);
        return (accuracy, data.NumTest);
    }

    private static Option<string> CheckpointOption() =>
        new("--checkpoint") { Description = "a trial checkpoint file (epoch-E.ckpt)", Required = true };

    /// <summary>Runs a command body; a bad input of any kind is one line "sweep COMMAND: ..." and exit 2, never a stack trace.</summary>
    private static int Guarded(string name, TextWriter error, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is CheckpointException or SweepUsageException or CifarDataException or ArgumentException)
        {
            error.WriteLine($"sweep {name}: {e.Message.ReplaceLineEndings(" ")}");
            return ExitCodes.BadInput;
        }
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;
}
