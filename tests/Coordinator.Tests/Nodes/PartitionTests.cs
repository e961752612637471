using System.Diagnostics;
using System.Text.RegularExpressions;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Engine;
using Sweep.TestSupport;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Nodes;

/// <summary>
/// Issue 9: every fault test killed processes on one loopback interface. Here a real worker runs in its own network
/// namespace and is cut off from the coordinator for 20 s in the middle of a trial, then the link is healed: its trial
/// is re-queued to the other worker, the cut-off worker is downed (and started again, as systemd or compose would),
/// every trial completes exactly once, and the leaderboard is the one an undisturbed run produces.
/// </summary>
public sealed class PartitionTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan PartitionLength = TimeSpan.FromSeconds(20);
    private readonly TempJournal _temp = new();
    private readonly List<SweepProcess> _processes = [];
    private NetworkNamespace? _namespace;

    public void Dispose()
    {
        foreach (var process in _processes)
            process.Dispose();
        _namespace?.Dispose();
        _temp.Dispose();
    }

    private string[] WorkerArgs(string seed, string host, string name) =>
    [
        "worker", "--seed-nodes", seed, "--host", host, "--slots", "1", "--threads", "1",
        "--data", RepoPaths.CifarDirectory(), "--checkpoint-dir", Path.Combine(_temp.Folder, name + ".checkpoints"),
    ];

    private SweepProcess Track(SweepProcess process)
    {
        _processes.Add(process);
        return process;
    }

    [NetworkNamespaceFact]
    public async Task A_worker_partitioned_mid_trial_for_20_s_costs_no_trial_and_changes_no_result()
    {
        var spec = Path.Combine(_temp.Folder, "partition.conf");
        // Enough trials (a few seconds each) that the sweep usually still runs when the partition heals.
        File.WriteAllText(spec, TinySpecs.Text("partition", RepoPaths.CifarDirectory(), numTrain: 2000, epochs: 3, firstStage: 8, secondStage: 4));

        // The undisturbed run: same spec, one local worker, on loopback.
        var reference = Path.Combine(_temp.Folder, "reference.db");
        var undisturbed = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, Bound, null,
            "run", spec, "--journal", reference, "--local-workers", "1");
        Assert.True(undisturbed.ExitCode == 0, undisturbed.Stdout + undisturbed.Stderr);

        _namespace = NetworkNamespace.Create();
        var journal = Path.Combine(_temp.Folder, "partitioned.db");
        var coordinator = Track(SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null,
            "coordinator", spec, "--journal", journal, "--host", _namespace.HostAddress, "--port", "0"));
        Assert.True(coordinator.WaitForOutput(o => o.Contains("coordinator at "), Bound), coordinator.Stdout + coordinator.Stderr);
        var seed = Regex.Match(coordinator.Stdout, @"coordinator at akka\.tcp://sweep@([0-9.]+:\d+)").Groups[1].Value;
        Track(SweepProcess.Start(SweepProcess.WorkerDll, _temp.Folder, null, WorkerArgs(seed, _namespace.HostAddress, "host")));
        var cutOff = Track(SweepProcess.StartInNetworkNamespace(_namespace.Name, SweepProcess.WorkerDll, _temp.Folder,
            WorkerArgs(seed, _namespace.NamespaceAddress, "netns")));

        // Cut the namespace off as soon as its worker is in the middle of a trial.
        var inNamespace = $"@{_namespace.NamespaceAddress}:";
        TrialState? interrupted = null;
        var clock = Stopwatch.StartNew();
        while (interrupted is null)
        {
            Assert.True(clock.Elapsed < Bound && !coordinator.HasExited, "a trial ran in the namespace: " + coordinator.Stdout + cutOff.Stdout + cutOff.Stderr);
            try
            {
                interrupted = (await Read(journal)).RunningTrials.FirstOrDefault(t => t.Worker?.Contains(inNamespace) == true);
            }
            catch (SweepUsageException)
            {
                // The coordinator has not created its tables yet.
            }
        }
        _namespace.Partition();
        var partitioned = Stopwatch.StartNew();
        output.WriteLine($"partitioned while {interrupted.TrialId} ran on {interrupted.Worker}");
        await Task.Delay(PartitionLength);
        _namespace.Heal();
        output.WriteLine($"healed after {partitioned.Elapsed.TotalSeconds:0.0} s");
        // Usually the sweep goes on over the healed link; on a slow machine it may have finished already.
        output.WriteLine($"at the heal: {(await Read(journal)).Counts}");

        // Downed by the coordinator's side (and by its own): it ends with its one line, and is started again.
        Assert.True(cutOff.WaitForExit(Bound), "the cut-off worker was downed: " + cutOff.Stdout + cutOff.Stderr);
        Assert.Equal(ExitCodes.Unfinished, cutOff.ExitCode);
        Assert.StartsWith("worker: removed from the cluster", cutOff.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last());
        Track(SweepProcess.StartInNetworkNamespace(_namespace.Name, SweepProcess.WorkerDll, _temp.Folder,
            WorkerArgs(seed, _namespace.NamespaceAddress, "netns-again")));

        Assert.True(coordinator.WaitForExit(Bound), "the sweep completed: " + coordinator.Stdout + coordinator.Stderr);
        output.WriteLine(coordinator.Stdout);
        Assert.Equal(0, coordinator.ExitCode);

        var expected = await Read(reference);
        var actual = await Read(journal);
        Assert.True(actual.IsCompleted);
        var requeued = actual.GetTrial(interrupted.TrialId);
        Assert.True(requeued.Attempts >= 2, $"{requeued.TrialId} was re-queued: {requeued.Attempts} attempt(s)");
        Assert.NotEqual(interrupted.Worker, requeued.Result!.Worker);
        Assert.Equal(actual.Trials.Count, TempJournal.CountEventsIn(journal, "trial-completed"));
        Assert.Equal(Board(expected), Board(actual));
    }

    private static Task<SweepState> Read(string journal) => JournalReader.ReadStateAsync(JournalLocation.Parse(journal), TimeSpan.FromSeconds(30));

    /// <summary>What must not depend on the run: each trial's config and outcome, in leaderboard order.</summary>
    private static List<string> Board(SweepState state) =>
        [.. state.Trials.Values
            .OrderByDescending(t => t.Result?.BestValAcc).ThenBy(t => t.TrialId)
            .Select(t => $"{t.TrialId} {t.Spec.Params.Key} {t.Status} {t.Result?.BestValAcc:R} {t.Result?.BestEpoch}")];
}
