using Sweep.Models.Data;
using Sweep.Models.Networks;
using Sweep.Models.Training.Optim;

namespace Sweep.Models.Training.Checkpoints;

/// <summary>
/// The settings a run must share with the run that wrote a checkpoint to continue it exactly: the Solver's options
/// (all but the number of epochs, which a resumed run may raise) and the data split. Recorded in the header.
/// </summary>
public sealed record CheckpointTraining(
    UpdateRuleKind UpdateRule,
    double InitialLearningRate,
    double Momentum,
    double LrDecay,
    int BatchSize,
    int Epochs,
    int NumTrainSamples,
    int? NumValSamples,
    long Seed,
    int NumTrain,
    CifarNormalization DataNormalization,
    int TrainingSplitSize,
    int ValidationSize)
{
    public static CheckpointTraining Of(SolverOptions options, CifarDataset data) => new(
        options.UpdateRule, options.EffectiveLearningRate, options.Momentum, options.LrDecay, options.BatchSize, options.Epochs,
        options.NumTrainSamples, options.NumValSamples, options.Seed, data.NumTrain, data.Options.Normalization,
        data.Options.TrainingSplitSize, data.Options.ValidationSize);

    /// <summary>"name saved vs name now" for the first setting that differs from <paramref name="run"/>'s (epochs aside), else null.</summary>
    public string? DifferenceFrom(CheckpointTraining run)
    {
        (string Name, object? Saved, object? Now)[] settings =
        [
            ("update_rule", Optim.UpdateRule.Name(UpdateRule), Optim.UpdateRule.Name(run.UpdateRule)),
            ("learning_rate", InitialLearningRate, run.InitialLearningRate),
            ("momentum", Momentum, run.Momentum),
            ("lr_decay", LrDecay, run.LrDecay),
            ("batch_size", BatchSize, run.BatchSize),
            ("num_train_samples", NumTrainSamples, run.NumTrainSamples),
            ("num_val_samples", NumValSamples, run.NumValSamples),
            ("seed", Seed, run.Seed),
            ("num_train", NumTrain, run.NumTrain),
            ("data_normalization", DataNormalization, run.DataNormalization),
            ("training split size", TrainingSplitSize, run.TrainingSplitSize),
            ("validation split size", ValidationSize, run.ValidationSize),
        ];
        foreach (var (name, saved, now) in settings)
            if (!Equals(saved, now))
                return $"{name} {saved ?? "all"} (this run: {now ?? "all"})";
        return null;
    }
}

/// <summary>
/// The JSON header of a trial checkpoint (docs/checkpoint-format.md): what model and training run wrote it, where the
/// run stood after <see cref="Epoch"/> (iteration counter, decayed learning rate, histories, best so far), and the
/// torch threads it ran with. Enough to rebuild the model without the trial's parameters.
/// </summary>
public sealed record TrialCheckpointHeader(
    ModelSpec Model,
    CheckpointTraining Training,
    string DeviceType,
    int Threads,
    int Epoch,
    int Iteration,
    double LearningRate,
    IReadOnlyList<double> LossHistory,
    IReadOnlyList<double> TrainAccHistory,
    IReadOnlyList<double> ValAccHistory,
    double BestValAcc,
    int BestEpoch);
