using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Training;
using TorchSharp;

namespace Sweep.Worker.Training;

/// <summary>
/// Trains, in this process, the model a <see cref="TrialSettings"/> describes: loads (or reuses) the CIFAR-10 splits,
/// builds the model on the device and runs the <see cref="Solver"/>. The levels of running a trial each have one name:
/// <see cref="Trials.ITrialRunner.Run"/> runs a trial for a worker slot, this trains its model, and
/// <see cref="Solver.Train"/> is the training loop. `./sweep train` calls this directly.
/// </summary>
public static class ModelTraining
{
    /// <summary>
    /// Trains <paramref name="settings"/> on the data in <paramref name="dataDirectory"/>. Solver lines go
    /// to <paramref name="log"/>; <paramref name="threads"/> sets this trial's torch intra-op threads. With
    /// <paramref name="checkpointEvery"/> &gt; 0 a trial checkpoint goes to <paramref name="checkpointDirectory"/> after every
    /// that many epochs and the last; <paramref name="resumeFrom"/> continues from one.
    /// </summary>
    /// <exception cref="CifarDataException">the data cannot be read or downloaded.</exception>
    /// <exception cref="Models.Training.Checkpoints.CheckpointException">the resume checkpoint cannot be used.</exception>
    public static TrainingOutcome Train(TrialSettings settings, string dataDirectory, torch.Device device,
        int? threads = null, string? checkpointDirectory = null, Action<string>? log = null,
        Action<EpochReport>? onEpoch = null, CancellationToken cancellationToken = default,
        int checkpointEvery = 0, string? resumeFrom = null)
    {
        if (threads is { } n)
            torch.set_num_threads(n);
        var data = CifarLoader.Load(dataDirectory, settings.Data);
        using var model = ModelFactory.Create(settings.Model, device, settings.Seed);
        var options = settings.Solver with
        {
            Threads = threads, CheckpointDirectory = checkpointDirectory, Log = log, CheckpointEvery = checkpointEvery, ResumeFrom = resumeFrom,
        };
        return new Solver(model, data, options).Train(onEpoch, cancellationToken);
    }
}
