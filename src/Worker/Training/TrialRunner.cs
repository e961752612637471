using System.Text.Json;
using System.Text.Json.Nodes;
using Sweep.Models.Data;
using Sweep.Models.Models;
using Sweep.Models.Training;
using TorchSharp;

namespace Sweep.Worker.Training;

/// <summary>
/// Runs one trial in this process: loads (or reuses) the CIFAR-10 splits, builds the model on the
/// device, and trains it with the Solver. Shared by `./sweep train` and the cluster worker's slots.
/// </summary>
public static class TrialRunner
{
    /// <summary>
    /// Trains <paramref name="settings"/> on the data in <paramref name="dataDirectory"/>. Solver lines go
    /// to <paramref name="log"/>; <paramref name="threads"/> sets this trial's torch intra-op threads.
    /// </summary>
    /// <exception cref="CifarDataException">the data cannot be read or downloaded.</exception>
    public static TrainingOutcome Run(TrialSettings settings, string dataDirectory, torch.Device device,
        int? threads = null, string? checkpointDirectory = null, Action<string>? log = null,
        Action<EpochReport>? onEpoch = null, CancellationToken cancellationToken = default)
    {
        if (threads is { } n)
            torch.set_num_threads(n);
        var data = CifarLoader.Load(dataDirectory, settings.Data);
        using var model = ModelFactory.Create(settings.Model, device, settings.Seed);
        var options = settings.Solver with { Threads = threads, CheckpointDirectory = checkpointDirectory, Log = log };
        return Trainer.Train(model, data, options, onEpoch, cancellationToken);
    }

    /// <summary>
    /// The trial outcome as one JSON object with the TEAM.md snake_case fields: best_val_acc, best_epoch,
    /// train_acc_history, val_acc_history, final_loss (null when not finite), seconds, status, and
    /// checkpoint_path when a checkpoint was written.
    /// </summary>
    public static string ToJson(TrainingOutcome outcome)
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
