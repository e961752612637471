using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Data;

/// <summary>
/// Loads CIFAR-10 (official binary or python format) into the seeds' splits, once per process: every
/// call with the same directory and preprocessing returns views of the same tensors, so a worker that
/// runs many trials holds one float32 copy of the training images whatever each trial's num_train is
/// (the cache keeps one preprocessing per folder; asking for another replaces it).
/// </summary>
public static class CifarLoader
{
    public const string BinaryFolderName = "cifar-10-batches-bin";
    public const string PythonFolderName = "cifar-10-batches-py";

    private static readonly ConcurrentDictionary<CacheKey, Lazy<CifarDataset>> Cache = new();

    private sealed record CacheKey(string Directory, CifarNormalization Normalization, int TrainingSplitSize,
        int ValidationSize, int? TestSize);

    /// <summary>
    /// Loads <paramref name="directory"/>: a folder holding the batch files themselves, or one holding
    /// cifar-10-batches-bin/ or cifar-10-batches-py/. An existing empty folder gets the official
    /// tarball downloaded into it (unless <see cref="CifarSplitOptions.DownloadIfEmpty"/> is off).
    /// </summary>
    /// <exception cref="CifarDataException">files missing, malformed, or the download failed.</exception>
    public static CifarDataset Load(string directory, CifarSplitOptions? options = null) =>
        Load(directory, options, downloader: null);

    public static CifarDataset Load(string directory, CifarSplitOptions? options, CifarDownloader? downloader)
    {
        options ??= CifarSplitOptions.Default;
        options.Validate();
        if (string.IsNullOrWhiteSpace(directory))
            throw new CifarDataException("no CIFAR-10 directory given; pass --data DIR or set SWEEP_DATA");
        var fullPath = Path.GetFullPath(directory);
        var key = new CacheKey(fullPath, options.Normalization, options.TrainingSplitSize, options.ValidationSize, options.TestSize);
        var lazy = Cache.GetOrAdd(key, k => new Lazy<CifarDataset>(() => ReadAndPreprocess(k.Directory, options, downloader),
            LazyThreadSafetyMode.ExecutionAndPublication));
        CifarDataset full;
        try
        {
            full = lazy.Value;
        }
        catch
        {
            // A failed read must not poison the cache: the user may fix the files and try again.
            Cache.TryRemove(new KeyValuePair<CacheKey, Lazy<CifarDataset>>(key, lazy));
            throw;
        }
        // One preprocessed copy per data folder: a different normalization or split replaces the cached one
        // (trials still holding the old tensors keep them alive until they finish).
        foreach (var other in Cache.Keys)
            if (other != key && other.Directory == key.Directory)
                Cache.TryRemove(other, out _);
        return options.NumTrain is { } k && k < full.NumTrain ? full.WithNumTrain(k) : full;
    }

    /// <summary>Forgets cached datasets (their tensors stay valid for whoever still holds them).</summary>
    public static void ClearCache() => Cache.Clear();

    internal static bool IsCached(string directory, CifarSplitOptions options) =>
        Cache.ContainsKey(new CacheKey(Path.GetFullPath(directory), options.Normalization, options.TrainingSplitSize,
            options.ValidationSize, options.TestSize));

    /// <summary>
    /// Reads and checks the batch files of <paramref name="directory"/> exactly as <see cref="Load"/> does (every file
    /// present, whole records, labels 0..9, enough images for the split), without downloading or building tensors:
    /// a cheap check before a sweep starts workers on the folder.
    /// </summary>
    /// <exception cref="CifarDataException">files missing or malformed.</exception>
    public static void CheckFiles(string directory, CifarSplitOptions? options = null)
    {
        options = (options ?? CifarSplitOptions.Default) with { DownloadIfEmpty = false };
        options.Validate();
        ReadRaw(Path.GetFullPath(directory), options, downloader: null);
    }

    /// <summary>The raw training and test batches of a folder, checked as far as <see cref="Load"/> needs before preprocessing.</summary>
    private static (string Folder, CifarRawBatch Train, CifarRawBatch Test) ReadRaw(string directory, CifarSplitOptions options, CifarDownloader? downloader)
    {
        var (folder, python) = ResolveFolder(directory, options, downloader);
        var trainFiles = Enumerable.Range(1, 5).Select(i => Path.Combine(folder, python ? $"data_batch_{i}" : $"data_batch_{i}.bin")).ToList();
        var testFile = Path.Combine(folder, python ? "test_batch" : "test_batch.bin");
        foreach (var file in trainFiles.Append(testFile))
            if (!File.Exists(file))
                throw new CifarDataException(
                    $"CIFAR-10 file {file} is missing; the folder needs data_batch_1..5 and test_batch ({(python ? "python" : "binary")} format), restore it from the official tarball");

        Func<string, CifarRawBatch> read = python ? CifarPickleFormat.Read : CifarBinaryFormat.Read;
        var train = CifarRawBatch.Concat(folder, trainFiles.Select(read).ToList());
        var test = read(testFile);

        var needed = options.TrainingSplitSize + options.ValidationSize;
        if (train.Count < needed)
            throw new CifarDataException(
                $"CIFAR-10 training files in {folder} hold {train.Count} images but the split needs {needed} ({options.TrainingSplitSize} train + {options.ValidationSize} val); use the full official files or a smaller split");
        return (folder, train, test);
    }

    private static CifarDataset ReadAndPreprocess(string directory, CifarSplitOptions options, CifarDownloader? downloader)
    {
        var (folder, train, test) = ReadRaw(directory, options, downloader);
        var needed = options.TrainingSplitSize + options.ValidationSize;
        var testCount = options.TestSize is { } t ? Math.Min(t, test.Count) : test.Count;

        using var scope = NewDisposeScope();
        var trainVal = ToImages(train.Pixels, needed);
        var testImages = ToImages(test.Pixels, testCount);
        var trainSplit = trainVal.narrow(0, 0, options.TrainingSplitSize);
        switch (options.Normalization)
        {
            case CifarNormalization.MeanImage:
            {
                // Pixels are whole numbers, so a float64 sum is exact; the mean image is per pixel and channel.
                var mean = trainSplit.sum(0, keepdim: true, type: ScalarType.Float64).div_(options.TrainingSplitSize).to(ScalarType.Float32);
                trainVal.sub_(mean);
                testImages.sub_(mean);
                break;
            }
            case CifarNormalization.PerChannel:
            {
                var mean = tensor(new float[] { 0.4914f, 0.4822f, 0.4465f }).view(1, 3, 1, 1);
                var std = tensor(new float[] { 0.2023f, 0.1994f, 0.2010f }).view(1, 3, 1, 1);
                trainVal.div_(255f).sub_(mean).div_(std);
                testImages.div_(255f).sub_(mean).div_(std);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Normalization, "unknown normalization");
        }

        var labels = tensor(train.Labels.AsSpan(0, needed).ToArray()).to(ScalarType.Int64);
        var testLabels = tensor(test.Labels.AsSpan(0, testCount).ToArray()).to(ScalarType.Int64);
        // Detached: the cache outlives this scope and any scope the first caller may be in.
        return new CifarDataset(folder, options with { NumTrain = null },
            trainSplit.DetachFromDisposeScope(),
            labels.narrow(0, 0, options.TrainingSplitSize).DetachFromDisposeScope(),
            trainVal.narrow(0, options.TrainingSplitSize, options.ValidationSize).DetachFromDisposeScope(),
            labels.narrow(0, options.TrainingSplitSize, options.ValidationSize).DetachFromDisposeScope(),
            testImages.DetachFromDisposeScope(),
            testLabels.DetachFromDisposeScope());
    }

    private static Tensor ToImages(byte[] pixels, int count)
    {
        using var bytes = tensor(pixels.AsSpan(0, count * CifarRawBatch.ImageBytes).ToArray(), new long[] { count, 3, 32, 32 });
        return bytes.to(ScalarType.Float32);
    }

    private static (string Folder, bool Python) ResolveFolder(string directory, CifarSplitOptions options, CifarDownloader? downloader)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new CifarDataException(
                $"CIFAR-10 directory {directory} does not exist; point --data / SWEEP_DATA at the folder holding {BinaryFolderName}, or create it empty to download CIFAR-10 there");
        var found = Detect(directory);
        if (found is not null)
            return found.Value;
        if (!System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
        {
            if (!options.DownloadIfEmpty)
                throw new CifarDataException(
                    $"CIFAR-10 directory {directory} is empty and downloading is off; put {BinaryFolderName} there or allow the download");
            (downloader ?? CifarDownloader.Official).DownloadAndExtract(directory);
            return Detect(directory) ?? throw new CifarDataException(
                $"the CIFAR-10 tarball downloaded into {directory} holds no {BinaryFolderName} folder; download {CifarDownloader.OfficialUrl} by hand and unpack it there");
        }
        throw new CifarDataException(
            $"CIFAR-10 directory {directory} holds neither the batch files nor {BinaryFolderName}/ or {PythonFolderName}/; point --data / SWEEP_DATA at the right folder, or at an empty one to download CIFAR-10");
    }

    private static (string, bool)? Detect(string directory)
    {
        static bool IsBinary(string d) => File.Exists(Path.Combine(d, "data_batch_1.bin")) || File.Exists(Path.Combine(d, "test_batch.bin"));
        static bool IsPython(string d) => File.Exists(Path.Combine(d, "data_batch_1")) || File.Exists(Path.Combine(d, "test_batch"));
        if (IsBinary(directory))
            return (directory, false);
        if (IsPython(directory))
            return (directory, true);
        var binary = Path.Combine(directory, BinaryFolderName);
        if (System.IO.Directory.Exists(binary))
            return (binary, false);
        var python = Path.Combine(directory, PythonFolderName);
        if (System.IO.Directory.Exists(python))
            return (python, true);
        return null;
    }
}
