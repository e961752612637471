using System.CommandLine;
using System.Globalization;
using Sweep.Contract.Cli;
using Sweep.Models.Data;
using Sweep.Models.Runtime;
using Sweep.Models.Training;
using Sweep.Worker.Training;

namespace Sweep.Worker.Cli;

/// <summary>
/// `sweep train`: trains one model in this process with the Solver and prints its lines; with --json
/// the last line is the trial outcome as JSON. Model and training flags are the kebab-case forms of the
/// TEAM.md parameter names and go through <see cref="TrialSettings"/>, exactly as sweep trial configs do.
/// Exit codes: 0 completed, 1 diverged or failed, 2 bad input, 130 cancelled.
/// </summary>
public static class TrainCommand
{
    /// <summary>Flags that map one to one onto a TrialSettings parameter (flag = name with '-' for '_').</summary>
    private static readonly (string Name, string Description)[] TrialFlags =
    [
        ("model", "fc | three-layer-convnet | convnet (default fc)"),
        ("hidden-dims", "fc: hidden widths, e.g. 100,100 (default); convnet: affine widths after the convs (default none)"),
        ("num-filters", "three-layer-convnet: conv filters (default 32)"),
        ("filter-size", "three-layer-convnet: odd conv kernel size (default 7)"),
        ("hidden-dim", "three-layer-convnet: hidden affine width (default 100)"),
        ("conv-channels", "convnet: 3x3 conv channels, e.g. 32,32,64,64 (default)"),
        ("pool-after", "convnet: 1-based conv indices followed by a 2x2 max pool, e.g. 2,4 (default)"),
        ("normalization", "none | batchnorm | layernorm | groupnorm (fc default none, convnet default batchnorm)"),
        ("groups", "groupnorm: number of contiguous channel groups (default 1)"),
        ("dropout", "DROP probability after each hidden ReLU, in [0, 1) (default 0)"),
        ("weight-scale", "std of the N(0, ws^2) init (fc 1e-2, three-layer-convnet 1e-3); convnet: a number or kaiming (default, PyTorch init)"),
        ("reg", "L2 strength: loss += 0.5 * reg * sum(W^2) over weights (default 0)"),
        ("update-rule", "sgd | sgd_momentum | sgd_nesterov_momentum | rmsprop | adam (default sgd)"),
        ("learning-rate", "initial learning rate (default 1e-3 for adam, else 1e-2)"),
        ("momentum", "momentum of sgd_momentum / sgd_nesterov_momentum (default 0.9)"),
        ("lr-decay", "learning rate multiplier after every epoch, in (0, 1] (default 1)"),
        ("epochs", "number of epochs (default 10)"),
        ("batch-size", "minibatch size (default 100)"),
        ("num-train", "train on the first k of the 49,000 training images (default all)"),
        ("seed", "trial seed for init, minibatch sampling and dropout (default 0)"),
    ];

    public static Command Create()
    {
        var command = new Command("train", "Train one model in this process and print the Solver's lines (exit 0 completed, 1 diverged/failed, 2 bad input, 130 cancelled).");
        var trialOptions = TrialFlags.Select(f => new Option<string>("--" + f.Name) { Description = f.Description }).ToList();
        foreach (var option in trialOptions)
            command.Options.Add(option);
        var data = new Option<string>("--data") { Description = "CIFAR-10 folder (cifar-10-batches-bin or -py, or a parent; empty = download); default $SWEEP_DATA" };
        var device = new Option<string>("--device") { Description = "auto | cpu | cuda | cuda:N (default auto)" };
        var threads = new Option<string>("--threads") { Description = "torch intra-op threads for this run (default: torch's choice)" };
        var json = new Option<bool>("--json") { Description = "end the output with one line holding the outcome as JSON" };
        var checkpointDir = new Option<string>("--checkpoint-dir") { Description = "save the best weights (best.pt) into this folder" };
        command.Options.Add(data);
        command.Options.Add(device);
        command.Options.Add(threads);
        command.Options.Add(json);
        command.Options.Add(checkpointDir);

        command.SetAction((parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var values = new Dictionary<string, object?>();
            foreach (var option in trialOptions)
                if (parseResult.GetValue(option) is { } value)
                    values[option.Name.TrimStart('-').Replace('-', '_')] = value;
            var request = new TrainRequest(values, parseResult.GetValue(data), parseResult.GetValue(device),
                parseResult.GetValue(threads), parseResult.GetValue(json), parseResult.GetValue(checkpointDir));
            return Task.FromResult(Run(request, output, error, cancellationToken));
        });
        return command;
    }

    /// <summary>The raw inputs of one `sweep train` call.</summary>
    public sealed record TrainRequest(IReadOnlyDictionary<string, object?> TrialValues, string? Data, string? Device,
        string? Threads, bool Json, string? CheckpointDirectory);

    public static int Run(TrainRequest request, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        TrialSettings settings;
        int? threads = null;
        string dataDirectory;
        TorchSharp.torch.Device device;
        try
        {
            settings = TrialSettings.FromValues(request.TrialValues);
            if (request.Threads is { } text)
                threads = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1
                    ? n
                    : throw new TrialSettingsException($"threads '{text}' is not a whole number >= 1");
            device = TorchDevices.Resolve(request.Device);
            dataDirectory = NonEmpty(request.Data) ?? NonEmpty(Environment.GetEnvironmentVariable("SWEEP_DATA"))
                ?? throw new TrialSettingsException("no CIFAR-10 folder given; pass --data DIR or set SWEEP_DATA (an empty folder gets CIFAR-10 downloaded)");
        }
        catch (Exception e) when (e is TrialSettingsException or ArgumentException)
        {
            error.WriteLine($"sweep train: {e.Message}");
            return ExitCodes.BadInput;
        }

        if (threads is { } count)
            TorchSharp.torch.set_num_threads(count);
        output.WriteLine(TorchDevices.Describe(device));
        output.WriteLine($"model {settings.Model}; {Describe(settings.Solver)}; num_train {settings.Data.NumTrain?.ToString(CultureInfo.InvariantCulture) ?? "all"}, inputs {settings.Data.Normalization}");

        TrainingOutcome outcome;
        try
        {
            outcome = TrialRunner.Run(settings, dataDirectory, device, threads, request.CheckpointDirectory,
                line => output.WriteLine(line),
                report => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  epoch {report.Epoch}: mean loss {report.Loss:F4}, {report.Seconds:F1} s")),
                cancellationToken);
        }
        catch (CifarDataException e)
        {
            error.WriteLine($"sweep train: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else (e.g. libtorch running out of memory) fails the trial, not the caller's scripts.
            error.WriteLine($"sweep train: training failed: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            if (request.Json)
                output.WriteLine(TrialRunner.ToJson(new TrainingOutcome(TrainingStatus.Failed, 0, 0, [], [], double.NaN, 0, null)));
            return ExitCodes.Unfinished;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{TrainingOutcome.StatusName(outcome.Status)}: best val_acc {outcome.BestValAcc:F4} at epoch {outcome.BestEpoch}; {outcome.Seconds:F1} s"));
        if (request.Json)
            output.WriteLine(TrialRunner.ToJson(outcome));
        output.Flush();
        return outcome.Status switch
        {
            TrainingStatus.Completed => ExitCodes.Success,
            TrainingStatus.Cancelled => ExitCodes.Interrupted,
            _ => ExitCodes.Unfinished,
        };
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    private static string Describe(SolverOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"{Sweep.Models.Training.Optim.UpdateRule.Name(o.UpdateRule)} lr {o.EffectiveLearningRate:G4}, momentum {o.Momentum:G4}, lr_decay {o.LrDecay:G4}, batch {o.BatchSize}, epochs {o.Epochs}, seed {o.Seed}");
}
