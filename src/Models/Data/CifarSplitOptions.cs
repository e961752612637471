namespace Sweep.Models.Data;

/// <summary>How pixels are turned into model inputs.</summary>
public enum CifarNormalization
{
    /// <summary>
    /// The NumPy seeds (docs/seed-formulas.md §1.1): raw 0..255 values minus the per-pixel mean image of the training
    /// split, no scaling.
    /// </summary>
    MeanImage,

    /// <summary>
    /// The PyTorch notebook (docs/seed-formulas.md §1.2): ToTensor's x/255, then per channel (x - mean) / std with
    /// mean (0.4914, 0.4822, 0.4465) and std (0.2023, 0.1994, 0.2010).
    /// </summary>
    PerChannel,
}

/// <summary>
/// Which images form the train / val / test splits and how they are preprocessed. The defaults are
/// the seeds' split: train = training images 0..48,999, val = 49,000..49,999, test = the first 1,000
/// test images.
/// </summary>
public sealed record CifarSplitOptions
{
    /// <summary>Train on the first k images of the training split (the seeds' X_train[:k]); null = all of it.</summary>
    public int? NumTrain { get; init; }

    public CifarNormalization Normalization { get; init; } = CifarNormalization.MeanImage;

    /// <summary>Size of the training split; the mean image is always taken over all of it, whatever NumTrain says.</summary>
    public int TrainingSplitSize { get; init; } = 49_000;

    /// <summary>Images right after the training split that form the validation split.</summary>
    public int ValidationSize { get; init; } = 1_000;

    /// <summary>First images of the test file that form the test split; null = the whole file.</summary>
    public int? TestSize { get; init; } = 1_000;

    /// <summary>Download the official tarball when the data directory exists but is empty.</summary>
    public bool DownloadIfEmpty { get; init; } = true;

    public static CifarSplitOptions Default { get; } = new();

    internal void Validate()
    {
        if (TrainingSplitSize < 1)
            throw new ArgumentException($"training split size must be at least 1 (got {TrainingSplitSize})");
        if (ValidationSize < 1)
            throw new ArgumentException($"validation split size must be at least 1 (got {ValidationSize})");
        if (NumTrain is { } k && (k < 1 || k > TrainingSplitSize))
            throw new ArgumentException($"num_train must be between 1 and {TrainingSplitSize} (got {k})");
        if (TestSize is { } t && t < 1)
            throw new ArgumentException($"test split size must be at least 1 (got {t})");
    }
}
