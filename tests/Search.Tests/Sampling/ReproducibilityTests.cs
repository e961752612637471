using System.Diagnostics;
using Sweep.Search.Tests.Support;

namespace Sweep.Search.Tests.Sampling;

/// <summary>The configs of every stage are the same in another process for the same seed, and differ for another seed.</summary>
public class ReproducibilityTests
{
    private static string RunChild(long seed, string? sampler = null)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(host) || !File.Exists(host)) host = "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(ReproEntryPoint).Assembly.Location);
        start.ArgumentList.Add("plan-trials");
        start.ArgumentList.Add(seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (sampler is not null) start.ArgumentList.Add(sampler);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException("the child process did not finish within 60 s");
        }
        Assert.True(process.ExitCode == 0, $"child exited {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    [Fact]
    public void Another_process_plans_exactly_the_same_trials_for_the_same_seed()
    {
        var child = RunChild(1234);
        var here = ReproEntryPoint.PlannedTrials(1234);
        Assert.Equal(6 + 4 + 2, here.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(here, child);
        Assert.Equal(here, ReproEntryPoint.PlannedTrials(1234));
    }

    [Fact]
    public void Another_process_plans_exactly_the_same_tpe_trials_for_the_same_seed()
    {
        var here = ReproEntryPoint.PlannedTpeTrials(1234);
        Assert.Equal(6 + 3 + 2, here.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(here, RunChild(1234, "tpe"));
        Assert.NotEqual(here, ReproEntryPoint.PlannedTpeTrials(1235));
    }

    [Fact]
    public void Another_seed_plans_other_trials()
    {
        var a = ReproEntryPoint.PlannedTrials(1).Split('\n');
        var b = ReproEntryPoint.PlannedTrials(2).Split('\n');
        Assert.NotEqual(a[0], b[0]);
        Assert.Empty(a.Where(l => l.Length > 0).Intersect(b.Where(l => l.Length > 0)));
    }
}
