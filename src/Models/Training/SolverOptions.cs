using Sweep.Models.Training.Optim;

namespace Sweep.Models.Training;

/// <summary>
/// How a <see cref="Solver"/> trains: the seed Solver's arguments (docs/seed-formulas.md §5) plus what a sweep trial
/// needs (seed, threads, checkpoint folder, divergence limit). Defaults are the seed Solver's.
/// </summary>
public sealed record SolverOptions
{
    public UpdateRuleKind UpdateRule { get; init; } = UpdateRuleKind.Sgd;

    /// <summary>Initial learning rate; null = the rule's seed default (1e-3 for adam, else 1e-2).</summary>
    public double? LearningRate { get; init; }

    /// <summary>mu of sgd_momentum and sgd_nesterov_momentum.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>The learning rate is multiplied by this after every epoch.</summary>
    public double LrDecay { get; init; } = 1.0;

    public int BatchSize { get; init; } = 100;

    public int Epochs { get; init; } = 10;

    /// <summary>Training accuracy is measured on this many training images drawn with replacement (all when fewer).</summary>
    public int NumTrainSamples { get; init; } = 1000;

    /// <summary>Validation accuracy on this many val images drawn with replacement; null = the whole val set.</summary>
    public int? NumValSamples { get; init; }

    /// <summary>Seeds minibatch sampling and the accuracy subsamples (the model's init and dropout get their own seed).</summary>
    public long Seed { get; init; }

    /// <summary>
    /// When set, the weights are saved to best.pt in this folder whenever val accuracy reaches a new best, and the trial
    /// checkpoints (<see cref="CheckpointEvery"/>) go here as epoch-E.ckpt.
    /// </summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>
    /// Write a trial checkpoint after every this many epochs and after the last one (0: never); needs
    /// <see cref="CheckpointDirectory"/>. Its path comes with that epoch's <see cref="EpochReport"/>.
    /// </summary>
    public int CheckpointEvery { get; init; }

    /// <summary>A trial checkpoint to continue from (null: start at epoch 0); it must come from a run with the same settings.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>torch intra-op threads for this trial; null leaves the process setting alone.</summary>
    public int? Threads { get; init; }

    /// <summary>Print the iteration loss every this many iterations (the seed's print_every).</summary>
    public int PrintEvery { get; init; } = 10;

    /// <summary>Receives the Solver's lines ("(Iteration t / T) loss: ..." and "(Epoch e / E) ..."); null = silent.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Images per forward pass when measuring accuracy (the result does not depend on it).</summary>
    public int EvalBatchSize { get; init; } = 500;

    /// <summary>A loss above this (or NaN/Inf) marks the run diverged and stops it.</summary>
    public double DivergenceLoss { get; init; } = 1e4;

    /// <summary>
    /// Ask the device whether a loss diverged every this many steps (one boolean read back, the only host
    /// sync between accuracy checks); a diverged run stops at most this many steps late, its history cut
    /// at the first bad loss.
    /// </summary>
    public int DivergenceCheckEvery { get; init; } = 10;

    public double EffectiveLearningRate => LearningRate ?? (UpdateRule == UpdateRuleKind.Adam ? 1e-3 : 1e-2);

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line message for the first invalid value.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
                throw new ArgumentException(message);
        }

        Require(Enum.IsDefined(UpdateRule), $"unknown update_rule {UpdateRule}");
        Require(double.IsFinite(EffectiveLearningRate) && EffectiveLearningRate > 0, $"learning_rate must be a positive number (got {EffectiveLearningRate})");
        Require(double.IsFinite(Momentum) && Momentum >= 0 && Momentum < 1, $"momentum must be in [0, 1) (got {Momentum})");
        Require(double.IsFinite(LrDecay) && LrDecay > 0 && LrDecay <= 1, $"lr_decay must be in (0, 1] (got {LrDecay})");
        Require(BatchSize >= 1, $"batch_size must be at least 1 (got {BatchSize})");
        Require(Epochs >= 1, $"epochs must be at least 1 (got {Epochs})");
        Require(NumTrainSamples >= 1, $"num_train_samples must be at least 1 (got {NumTrainSamples})");
        Require(NumValSamples is null or >= 1, $"num_val_samples must be at least 1 (got {NumValSamples})");
        Require(Threads is null or >= 1, $"threads must be at least 1 (got {Threads})");
        Require(PrintEvery >= 1, $"print_every must be at least 1 (got {PrintEvery})");
        Require(EvalBatchSize >= 1, $"eval batch size must be at least 1 (got {EvalBatchSize})");
        Require(DivergenceLoss > 0, $"divergence loss must be positive (got {DivergenceLoss})");
        Require(CheckpointEvery >= 0, $"checkpoint_every must be 0 (never) or a number of epochs (got {CheckpointEvery})");
        Require(CheckpointEvery == 0 || CheckpointDirectory is not null, "checkpoint_every needs a checkpoint folder to write to");
        Require(DivergenceCheckEvery >= 1, $"divergence check interval must be at least 1 step (got {DivergenceCheckEvery})");
    }
}
