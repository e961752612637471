using System.Collections.Concurrent;
using Sweep.Models.Runtime;
using static TorchSharp.torch;

namespace Sweep.Models.Data;

/// <summary>
/// CIFAR-10 split and preprocessed for training: images are (N, 3, 32, 32) float32, labels int64, on the
/// CPU as loaded or on a training device (<see cref="On"/>). Instances come from <see cref="CifarLoader"/>,
/// which shares one copy of the pixels between all trials of a process; the tensors are owned by that
/// cache and must not be disposed or modified.
/// </summary>
public sealed class CifarDataset
{
    // Copies of this (full) dataset on other devices, made once and shared by every slot on that device.
    private readonly ConcurrentDictionary<string, Lazy<CifarDataset>> _onDevice = new();

    // The full dataset a WithNumTrain view narrows (device copies are made of the full one), else null.
    private readonly CifarDataset? _full;

    internal CifarDataset(string directory, CifarSplitOptions options, Tensor trainImages, Tensor trainLabels,
        Tensor valImages, Tensor valLabels, Tensor testImages, Tensor testLabels, CifarDataset? full = null)
    {
        _full = full;
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

    /// <summary>Where the tensors live.</summary>
    public Device Device => TrainImages.device;

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
        var full = _full ?? this;
        var images = full.TrainImages.narrow(0, 0, numTrain).DetachFromDisposeScope();
        var labels = full.TrainLabels.narrow(0, 0, numTrain).DetachFromDisposeScope();
        return new CifarDataset(Directory, Options with { NumTrain = numTrain }, images, labels,
            ValImages, ValLabels, TestImages, TestLabels, full);
    }

    /// <summary>
    /// The same splits with every tensor on <paramref name="device"/>: this dataset when it is there
    /// already, else a copy made on the first call and shared by every later caller in the process (all
    /// the slots training on that device), so minibatches are indexed on the device and no image crosses
    /// the bus during training. The training split in float32 is about 600 MB per device.
    /// </summary>
    public CifarDataset On(Device device)
    {
        var key = TorchDevices.Key(device);
        if (key == TorchDevices.Key(Device))
            return this;
        if (_full is not null)
            return _full.On(device).WithNumTrain(NumTrain);
        var copy = _onDevice.GetOrAdd(key, _ => new Lazy<CifarDataset>(() => CopyTo(device), LazyThreadSafetyMode.ExecutionAndPublication));
        return copy.Value;
    }

    private CifarDataset CopyTo(Device device)
    {
        using var _ = no_grad();
        // Detached: the copy lives as long as this dataset, whatever scope the first trial runs in.
        Tensor Copy(Tensor t) => t.to(device).DetachFromDisposeScope();
        return new CifarDataset(Directory, Options, Copy(TrainImages), Copy(TrainLabels), Copy(ValImages), Copy(ValLabels),
            Copy(TestImages), Copy(TestLabels));
    }
}
