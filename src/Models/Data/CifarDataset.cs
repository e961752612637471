using static TorchSharp.torch;

namespace Sweep.Models.Data;

/// <summary>
/// CIFAR-10 split and preprocessed for training: images are (N, 3, 32, 32) float32 on the CPU, labels
/// int64. Instances come from <see cref="CifarLoader"/>, which shares one copy of the pixels between
/// all trials of a process; the tensors are owned by that cache and must not be disposed or modified.
/// </summary>
public sealed class CifarDataset
{
    internal CifarDataset(string directory, CifarSplitOptions options, Tensor trainImages, Tensor trainLabels,
        Tensor valImages, Tensor valLabels, Tensor testImages, Tensor testLabels)
    {
        Directory = directory;
        Options = options;
        TrainImages = trainImages;
        TrainLabels = trainLabels;
        ValImages = valImages;
        ValLabels = valLabels;
        TestImages = testImages;
        TestLabels = testLabels;
    }

    /// <summary>The folder the batch files were read from.</summary>
    public string Directory { get; }

    public CifarSplitOptions Options { get; }

    public Tensor TrainImages { get; }
    public Tensor TrainLabels { get; }
    public Tensor ValImages { get; }
    public Tensor ValLabels { get; }
    public Tensor TestImages { get; }
    public Tensor TestLabels { get; }

    public int NumTrain => (int)TrainImages.shape[0];
    public int NumVal => (int)ValImages.shape[0];
    public int NumTest => (int)TestImages.shape[0];

    /// <summary>
    /// A dataset whose training split is the first <paramref name="numTrain"/> images of this one (views,
    /// no copy), as the seeds' X_train[:k]; val and test are shared.
    /// </summary>
    public CifarDataset WithNumTrain(int numTrain)
    {
        if (numTrain < 1 || numTrain > NumTrain)
            throw new ArgumentException($"num_train must be between 1 and {NumTrain} (got {numTrain})");
        if (numTrain == NumTrain)
            return this;
        var images = TrainImages.narrow(0, 0, numTrain).DetachFromDisposeScope();
        var labels = TrainLabels.narrow(0, 0, numTrain).DetachFromDisposeScope();
        return new CifarDataset(Directory, Options with { NumTrain = numTrain }, images, labels,
            ValImages, ValLabels, TestImages, TestLabels);
    }
}
