namespace Sweep.TestSupport;

/// <summary>Where the repository and the shared CIFAR-10 data are, seen from a test's output folder.</summary>
public static class RepoPaths
{
    /// <summary>The repository root: the first folder above the test's output that holds Sweep.sln.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sweep.sln")) && Directory.Exists(Path.Combine(dir.FullName, "hocon", "sweeps")))
                return dir.FullName;
        throw new DirectoryNotFoundException("no folder above the test binaries holds Sweep.sln and hocon/sweeps");
    }

    /// <summary>The real CIFAR-10: SWEEP_DATA, else the first shared/data/cifar-10-batches-bin above the test's output.</summary>
    public static string CifarDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("SWEEP_DATA");
        if (!string.IsNullOrWhiteSpace(fromEnvironment) && Directory.Exists(fromEnvironment))
            return Path.GetFullPath(fromEnvironment);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "cifar-10-batches-bin");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException("CIFAR-10 not found: set SWEEP_DATA or put it in shared/data/cifar-10-batches-bin in a folder above the repository");
    }
}
