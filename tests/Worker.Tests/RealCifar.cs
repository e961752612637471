namespace Sweep.Worker.Tests;

/// <summary>Finds the real CIFAR-10 of the team's machine: SWEEP_DATA, else shared/data above the repo.</summary>
internal static class RealCifar
{
    public static string Directory
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("SWEEP_DATA");
            if (!string.IsNullOrWhiteSpace(fromEnvironment))
                return fromEnvironment;
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "data", "cifar-10-batches-bin");
                if (System.IO.Directory.Exists(candidate))
                    return candidate;
            }
            throw new InvalidOperationException(
                "real CIFAR-10 not found: set SWEEP_DATA or place shared/data/cifar-10-batches-bin in a folder above the repository");
        }
    }
}
