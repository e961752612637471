using Sweep.Contract.Cli;
using Sweep.Contract.Security;
using Sweep.Models.Data;
using Sweep.Models.Runtime;
using Sweep.Models.Training;
using Sweep.Search.Parameters;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;
using Sweep.Worker.Training;
using TorchSharp;

namespace Sweep.Worker.Trials;

/// <summary>
/// Runs a trial for real: maps its parameters to model and solver settings (<see cref="TrialSettings"/>) and
/// trains it with <see cref="ModelTraining"/> (model built on the slot's device from the trial
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

    public TrialResult Run(TrialSpec trial, TrialSlot slot, TrialRunOptions options, Action<TrialEpochProgress> onEpoch, CancellationToken cancellation)
    {
        var config = trial.Params
            .With(TrialParameters.Epochs.Name, ParamValue.Of(trial.Budget.Epochs))
            .With(TrialParameters.NumTrain.Name, ParamValue.Of(trial.Budget.NumTrain));
        var settings = TrialSettings.From(config, trial.Seed);
        settings = settings with { Data = settings.Data with { DownloadIfEmpty = false } };
        var device = torch.device(slot.Device);
        Console.WriteLine($"worker: trial {trial.TrialId} on slot {slot.Index}: device {slot.Device}, dtype {settings.Model.DType}, {slot.Threads} torch thread(s)");

        TrainingOutcome outcome;
        using (torch.NewDisposeScope())
        {
            outcome = ModelTraining.Train(settings, dataDirectory, device, slot.Threads,
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
}
