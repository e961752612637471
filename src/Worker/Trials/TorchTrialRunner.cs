using System.Collections.Immutable;
using Sweep.Contract.Cli;
using Sweep.Contract.Security;
using Sweep.Models.Data;
using Sweep.Models.Runtime;
using Sweep.Models.Training;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.Worker.Training;
using TorchSharp;

namespace Sweep.Worker.Trials;

/// <summary>
/// Runs a trial for real: maps its parameters to model and solver settings (<see cref="TrialSettings"/>) and
/// trains it with the training core's <see cref="TrialRunner"/> (model built on the slot's device from the trial
/// seed, Solver) on the CIFAR-10 data this process loaded once (the loader caches it; every trial gets views of
/// the same tensors). The best-val weights go to a per-trial checkpoint folder; every tensor the trial made is
/// freed (dispose scope) before it returns.
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
            throw new SweepUsageException($"cannot load CIFAR-10 from '{dataDirectory}': {e.Message}");
        }
        return new TorchTrialRunner(dataDirectory);
    }

    public TrialResult Run(TrialSpec trial, TrialSlot slot, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation)
    {
        var values = trial.Params.ToDictionary(pair => pair.Key, pair => ToPlain(pair.Value));
        values["epochs"] = trial.Budget.Epochs;
        values["num_train"] = trial.Budget.NumTrain;
        var settings = TrialSettings.FromValues(values, trial.Seed);
        settings = settings with { Data = settings.Data with { DownloadIfEmpty = false } };
        var device = torch.device(slot.Device);

        TrainingOutcome outcome;
        using (torch.NewDisposeScope())
        {
            outcome = TrialRunner.Run(settings, dataDirectory, device, slot.Threads,
                TrialCheckpoints.FolderOf(slot.CheckpointDirectory, trial.TrialId), log: null,
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
