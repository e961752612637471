namespace Sweep.Coordinator.Tests.Support;

/// <summary>Finds the shared CIFAR-10 data: SWEEP_DATA, else the first shared/data folder above the test's directory.</summary>
public static class RepoPaths
{
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
        throw new DirectoryNotFoundException("CIFAR-10 not found: set SWEEP_DATA or put it in ../shared/data/cifar-10-batches-bin next to the repository");
    }
}
