using System.Text.RegularExpressions;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Tests.Support;
using Sweep.TestSupport;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Cli;

/// <summary>
/// Issue 9: a worker printed 18 stack-trace lines (Akka remoting's "Disassociated") when its coordinator went away.
/// Real processes: a `sweep coordinator` killed with SIGKILL under a running `sweep worker`.
/// </summary>
public sealed class CoordinatorGoneTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(90);
    private readonly TempJournal _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_worker_whose_coordinator_is_killed_prints_no_stack_trace_and_exits_with_one_line()
    {
        var spec = Path.Combine(_temp.Folder, "gone.conf");
        File.WriteAllText(spec, TinySpecs.Text("gone", RepoPaths.CifarDirectory(), family: "fc", epochs: 50));
        using var coordinator = SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null,
            "coordinator", spec, "--journal", _temp.FilePath, "--host", "127.0.0.1", "--port", "0");
        Assert.True(coordinator.WaitForOutput(o => o.Contains("coordinator at "), Bound), coordinator.Stdout + coordinator.Stderr);
        var address = Regex.Match(coordinator.Stdout, @"coordinator at akka\.tcp://sweep@(127\.0\.0\.1:\d+)").Groups[1].Value;

        using var worker = SweepProcess.Start(SweepProcess.WorkerDll, _temp.Folder, null,
            "worker", "--seed-nodes", address, "--slots", "1", "--threads", "1", "--data", RepoPaths.CifarDirectory(),
            "--checkpoint-dir", Path.Combine(_temp.Folder, "checkpoints"));
        Assert.True(worker.WaitForOutput(o => o.Contains("registered with the coordinator"), Bound), worker.Stdout + worker.Stderr);
        Assert.True(coordinator.WaitForOutput(o => o.Contains("1 running"), Bound), "a trial runs: " + coordinator.Stdout);

        coordinator.KillHard();

        Assert.True(worker.WaitForExit(Bound), "the worker ended after its coordinator: " + worker.Stdout + worker.Stderr);
        output.WriteLine($"exit {worker.ExitCode}\nstdout:\n{worker.Stdout}\nstderr:\n{worker.Stderr}");
        var lines = (worker.Stdout + worker.Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(lines, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.StartsWith("Cause:", StringComparison.Ordinal));
        Assert.Equal(ExitCodes.Unfinished, worker.ExitCode);
        Assert.Equal("worker: removed from the cluster (coordinator gone or this node was unreachable); start it again to rejoin",
            worker.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last().TrimEnd());
    }
}
