using Sweep.Contract.Cli;
using Sweep.Models.Data;

namespace Sweep.Worker.Hosting;

/// <summary>Checks, before anything starts, that a CIFAR-10 folder is where the user says it is.</summary>
public static class DataDirectory
{
    /// <summary>
    /// Returns the absolute path of the folder holding the CIFAR-10 batches: <paramref name="directory"/> itself
    /// when it holds data_batch_* files, else its cifar-10-batches-bin (or -py) subfolder; otherwise raises a
    /// one-line <see cref="SweepUsageException"/>.
    /// </summary>
    public static string Check(string directory, string source)
    {
        var full = Path.GetFullPath(directory);
        if (!Directory.Exists(full))
            throw new SweepUsageException(
                $"data directory '{directory}' (from {source}) does not exist; pass --data DIR or set SWEEP_DATA to the folder holding cifar-10-batches-bin");
        foreach (var candidate in new[] { full, Path.Combine(full, "cifar-10-batches-bin"), Path.Combine(full, "cifar-10-batches-py") })
        {
            if (Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, "data_batch_*").Any())
                return candidate;
        }
        throw new SweepUsageException(
                $"data directory '{directory}' (from {source}) holds no CIFAR-10 batches (data_batch_1.bin ...); pass --data DIR or set SWEEP_DATA to the folder holding cifar-10-batches-bin");
    }

    /// <summary>
    /// Reads every batch file of <paramref name="dataDirectory"/> as a trial process will (without building tensors), so
    /// that a truncated or corrupt file fails here, with the trial process's one-line message, before a sweep starts.
    /// </summary>
    public static void CheckContents(string dataDirectory)
    {
        try
        {
            CifarLoader.CheckFiles(dataDirectory);
        }
        catch (CifarDataException e)
        {
            throw Unloadable(dataDirectory, e);
        }
    }

    /// <summary>The one line for a folder whose CIFAR-10 files cannot be loaded.</summary>
    public static SweepUsageException Unloadable(string dataDirectory, CifarDataException e) =>
        new($"cannot load CIFAR-10 from '{dataDirectory}': {e.Message}");
}
