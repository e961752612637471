using System.Collections.Immutable;
using Sweep.Models.Data;
using Sweep.Models.Models;
using Sweep.Models.Runtime;
using Sweep.Models.Training;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.Worker.Training;
using TorchSharp;

namespace Sweep.Worker.Trials;

/// <summary>
/// Runs a trial for real: maps its parameters to model and solver settings (<see cref="TrialSettings"/>), builds
/// the model on the slot's device from the trial seed, and trains it with <see cref="Trainer"/> on the CIFAR-10
/// data this process loaded once (the loader caches it; every trial gets views of the same tensors). The best-val
/// weights go to a per-trial checkpoint folder; every tensor the trial made is freed before it returns.
/// </summary>
public sealed class TorchTrialRunner(string dataDirectory) : ITrialRunner
{
    /// <summary>Number of CUDA devices this process can use (0 with the CPU build of libtorch).</summary>
    public static int CudaDeviceCount() => TorchDevices.CudaDeviceCount;

    /// <summary>A runner over <paramref name="dataDirectory"/>; reads the data now so that a bad folder fails before joining.</summary>
    public static TorchTrialRunner Create(string dataDirectory)
    {
        try
        {
            CifarLoader.Load(dataDirectory, CifarSplitOptions.Default with { DownloadIfEmpty = false });
        }
        catch (CifarDataException e)
        {
            throw new Coordinator.Hosting.SweepUsageException($"cannot load CIFAR-10 from '{dataDirectory}': {e.Message}");
        }
        return new TorchTrialRunner(dataDirectory);
    }

    public TrialResult Run(TrialSpec trial, TrialSlot slot, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation)
    {
        var values = trial.Params.ToDictionary(pair => pair.Key, pair => ToPlain(pair.Value));
        values["epochs"] = trial.Budget.Epochs;
        values["num_train"] = trial.Budget.NumTrain;
        var settings = TrialSettings.FromValues(values, trial.Seed);
        var data = CifarLoader.Load(dataDirectory, settings.Data with { DownloadIfEmpty = false });
        var device = torch.device(slot.Device);
        var options = settings.Solver with
        {
            Threads = slot.Threads,
            CheckpointDirectory = Path.Combine(slot.CheckpointDirectory, trial.TrialId),
            Log = null,
        };

        TrainingOutcome outcome;
        using (var scope = torch.NewDisposeScope())
        {
            using var model = ModelFactory.Create(settings.Model, device, settings.Seed);
            outcome = Trainer.Train(model, data, options,
                report => onEpoch(new TrialEpochProgress(report.Epoch, report.Loss, report.TrainAcc, report.ValAcc, report.Seconds)),
                cancellation);
        }
        if (device.type == DeviceType.CUDA)
            torch.cuda.synchronize(device);

        return new TrialResult(
            outcome.Status switch
            {
                TrainingStatus.Completed => TrialStatus.Completed,
                TrainingStatus.Diverged => TrialStatus.Diverged,
                TrainingStatus.Cancelled => TrialStatus.Cancelled,
                _ => TrialStatus.Failed,
            },
            outcome.BestValAcc,
            outcome.BestEpoch,
            [.. outcome.TrainAccHistory],
            [.. outcome.ValAccHistory],
            outcome.FinalLoss,
            outcome.Seconds,
            outcome.CheckpointPath);
    }

    private static object? ToPlain(ParamValue value) => value.Kind switch
    {
        ParamKind.Int => value.AsInt(),
        ParamKind.Float => value.AsDouble(),
        ParamKind.String => value.AsString(),
        ParamKind.Bool => value.AsBool(),
        ParamKind.IntList => value.AsIntList().ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(value), value.Kind, "unknown parameter kind"),
    };
}
