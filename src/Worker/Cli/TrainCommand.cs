using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sweep.Contract.Cli;
using Sweep.Models.Data;
using Sweep.Models.Runtime;
using Sweep.Models.Training;
using Sweep.Models.Training.Checkpoints;
using Sweep.Search.Parameters;
using Sweep.Search.Spaces;
using Sweep.Worker.Training;

namespace Sweep.Worker.Cli;

/// <summary>
/// `sweep train`: trains one model in this process with the Solver and prints its lines; with --json the last line
/// is the trial outcome as JSON. Its model and training flags are made from the parameter table
/// (<see cref="TrialParameters"/>, one flag per parameter, the name in kebab case) and map through
/// <see cref="TrialSettings"/>, exactly as sweep trial configs do. Exit codes are <see cref="ExitCodes"/>: success
/// when training completed, unfinished when it diverged or failed, bad input, interrupted when cancelled.
/// </summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var command = new Command("train", "Train one model in this process and print the Solver's lines (exit 0 completed, 1 diverged/failed, 2 bad input, 130 cancelled).");
        var trialOptions = TrialParameters.All.Select(p => (Parameter: p, Option: new Option<string>(p.FlagName) { Description = p.HelpWithDefaults })).ToList();
        foreach (var (_, option) in trialOptions)
            command.Options.Add(option);
        var data = new Option<string>("--data") { Description = "CIFAR-10 folder (cifar-10-batches-bin or -py, or a parent; empty = download); default $SWEEP_DATA" };
        var device = new Option<string>("--device") { Description = "auto | cpu | cuda | cuda:N (default auto)" };
        var threads = new Option<string>("--threads") { Description = "torch intra-op threads for this run (default: torch's choice)" };
        var json = new Option<bool>("--json") { Description = "end the output with one line holding the outcome as JSON" };
        var checkpointDir = new Option<string>("--checkpoint-dir") { Description = "save the best weights (best.pt) into this folder" };
        var checkpointEvery = new Option<string>("--checkpoint-every")
        {
            Description = "also write a trial checkpoint (epoch-E.ckpt) into --checkpoint-dir after every N epochs and the last (default 0: never)",
        };
        var resume = new Option<string>("--resume") { Description = "continue from a trial checkpoint written by a run with the same flags (--epochs may be larger)" };
        command.Options.Add(data);
        command.Options.Add(device);
        command.Options.Add(threads);
        command.Options.Add(json);
        command.Options.Add(checkpointDir);
        command.Options.Add(checkpointEvery);
        command.Options.Add(resume);

        command.SetAction((parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var values = trialOptions
                .Where(o => parseResult.GetValue(o.Option) is not null)
                .ToDictionary(o => o.Parameter.Name, o => parseResult.GetValue(o.Option)!);
            var request = new TrainRequest(values, parseResult.GetValue(data), parseResult.GetValue(device),
                parseResult.GetValue(threads), parseResult.GetValue(json), parseResult.GetValue(checkpointDir),
                parseResult.GetValue(checkpointEvery), parseResult.GetValue(resume));
            return Task.FromResult(Run(request, output, error, cancellationToken));
        });
        return command;
    }

    /// <summary>The raw inputs of one `sweep train` call: the trial flags as typed, by parameter name.</summary>
    public sealed record TrainRequest(IReadOnlyDictionary<string, string> TrialValues, string? Data, string? Device,
        string? Threads, bool Json, string? CheckpointDirectory, string? CheckpointEvery = null, string? ResumeFrom = null);

    public static int Run(TrainRequest request, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        TrialSettings settings;
        int? threads = null;
        var checkpointEvery = 0;
        string dataDirectory;
        TorchSharp.torch.Device device;
        try
        {
            settings = TrialSettings.From(ToConfig(request.TrialValues));
            if (request.Threads is { } text)
                threads = int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1
                    ? n
                    : throw new SweepUsageException($"threads '{text}' is not a whole number >= 1");
            if (request.CheckpointEvery is { } every)
                checkpointEvery = int.TryParse(every, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
                    ? n
                    : throw new SweepUsageException($"checkpoint-every '{every}' is not a whole number of epochs >= 0");
            if (checkpointEvery > 0 && string.IsNullOrWhiteSpace(request.CheckpointDirectory))
                throw new SweepUsageException("--checkpoint-every needs --checkpoint-dir DIR to write the checkpoints to");
            device = TorchDevices.Resolve(request.Device);
            dataDirectory = NonEmpty(request.Data) ?? NonEmpty(Environment.GetEnvironmentVariable("SWEEP_DATA"))
                ?? throw new SweepUsageException("no CIFAR-10 folder given; pass --data DIR or set SWEEP_DATA (an empty folder gets CIFAR-10 downloaded)");
        }
        catch (Exception e) when (e is TrialParameterException or SweepUsageException or ArgumentException)
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
            outcome = ModelTraining.Train(settings, dataDirectory, device, threads, request.CheckpointDirectory,
                line => output.WriteLine(line),
                report => output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  epoch {report.Epoch}: mean loss {report.Loss:F4}, {report.Seconds:F1} s{(report.CheckpointPath is { } path ? $"; checkpoint {path}" : "")}")),
                cancellationToken, checkpointEvery, NonEmpty(request.ResumeFrom));
        }
        catch (Exception e) when (e is CifarDataException or CheckpointException)
        {
            error.WriteLine($"sweep train: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Anything else (e.g. libtorch running out of memory) fails the trial, not the caller's scripts.
            error.WriteLine($"sweep train: training failed: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            if (request.Json)
                output.WriteLine(OutcomeJson(new TrainingOutcome(TrainingStatus.Failed, 0, 0, [], [], double.NaN, 0, null)));
            return ExitCodes.Unfinished;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{TrainingOutcome.StatusName(outcome.Status)}: best val_acc {outcome.BestValAcc:F4} at epoch {outcome.BestEpoch}; {outcome.Seconds:F1} s"));
        if (request.Json)
            output.WriteLine(OutcomeJson(outcome));
        output.Flush();
        return outcome.Status switch
        {
            TrainingStatus.Completed => ExitCodes.Success,
            TrainingStatus.Cancelled => ExitCodes.Interrupted,
            _ => ExitCodes.Unfinished,
        };
    }

    /// <summary>
    /// The flags as a trial config: each value read by its parameter's domain ("100,100" is a list, "1e-3" a number);
    /// the model family may be spelled with dashes (three-layer-convnet).
    /// </summary>
    public static TrialConfig ToConfig(IReadOnlyDictionary<string, string> values) =>
        TrialConfig.From(values.Select(pair =>
        {
            var parameter = TrialParameters.Find(pair.Key) ?? throw new TrialParameterException(pair.Key, $"unknown parameter '{pair.Key}'");
            var text = parameter == TrialParameters.Model ? pair.Value.Trim().ToLowerInvariant().Replace('-', '_') : pair.Value;
            return KeyValuePair.Create(parameter.Name, parameter.Rules[0].Domain.Parse(text));
        }));

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    private static string Describe(SolverOptions o) => string.Create(CultureInfo.InvariantCulture,
        $"{Sweep.Models.Training.Optim.UpdateRule.Name(o.UpdateRule)} lr {o.EffectiveLearningRate:G4}, momentum {o.Momentum:G4}, lr_decay {o.LrDecay:G4}, batch {o.BatchSize}, epochs {o.Epochs}, seed {o.Seed}");

    /// <summary>
    /// The outcome as one JSON object with snake_case fields: best_val_acc, best_epoch, train_acc_history,
    /// val_acc_history, final_loss (null when not finite), seconds, status, and checkpoint_path when a checkpoint was
    /// written; the same fields a worker reports for a sweep trial.
    /// </summary>
    public static string OutcomeJson(TrainingOutcome outcome)
    {
        var json = new JsonObject
        {
            ["best_val_acc"] = outcome.BestValAcc,
            ["best_epoch"] = outcome.BestEpoch,
            ["train_acc_history"] = new JsonArray(outcome.TrainAccHistory.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
            ["val_acc_history"] = new JsonArray(outcome.ValAccHistory.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
            ["final_loss"] = double.IsFinite(outcome.FinalLoss) ? outcome.FinalLoss : null,
            ["seconds"] = Math.Round(outcome.Seconds, 3),
            ["status"] = TrainingOutcome.StatusName(outcome.Status),
        };
        if (outcome.CheckpointPath is { } path)
            json["checkpoint_path"] = path;
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }
}
