using Sweep.TestSupport;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Engine;
using Sweep.Search.Trials;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Cli;

/// <summary>
/// The real executables with real training on a small slice of CIFAR-10 (1 epoch, a few hundred images):
/// `run` with local worker processes, a worker killed with SIGKILL mid-trial, and a coordinator killed with
/// SIGKILL and then resumed.
/// </summary>
public sealed class RealSweepTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan RunBound = TimeSpan.FromMinutes(3);
    private readonly TempJournal _temp = new();

    private string WriteSpec(string name, int numTrain = 400, int epochs = 1)
    {
        var path = Path.Combine(_temp.Folder, name + ".conf");
        File.WriteAllText(path, TinySpecs.Text(name, RepoPaths.CifarDirectory(), numTrain: numTrain, epochs: epochs));
        return path;
    }

    private SweepProcess StartRun(string spec, string journal) =>
        SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null, "run", spec, "--journal", journal, "--local-workers", "2");

    private static SweepState Read(string journal) =>
        JournalReader.ReadStateAsync(JournalLocation.Parse(journal), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();

    private static void WaitUntil(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds} s");
            Thread.Sleep(200);
        }
    }

    private static long Count(string journal, string manifest) => JournalRows.CountIn(journal, manifest);

    [Fact]
    public void A_worker_killed_mid_trial_has_its_trial_resumed_elsewhere_from_its_checkpoint_with_the_uninterrupted_histories()
    {
        // Trials of several epochs, so that the kill lands inside one after its first checkpoint is stored.
        var spec = WriteSpec("kill-worker", numTrain: 1000, epochs: 5);
        var reference = Path.Combine(_temp.Folder, "reference.db");
        using (var uninterrupted = StartRun(spec, reference))
        {
            Assert.True(uninterrupted.WaitForExit(RunBound), "uninterrupted run finished");
            Assert.Equal(0, uninterrupted.ExitCode);
        }
        var expected = Read(reference);

        var journal = Path.Combine(_temp.Folder, "kill-worker.db");
        using var run = StartRun(spec, journal);
        var logs = Path.Combine(_temp.Folder, "kill-worker.workers");

        // Wait until a running trial has a checkpoint stored by the coordinator, then SIGKILL the worker running it.
        string? victim = null;
        WaitUntil(() =>
        {
            victim = CheckpointedButOpen(journal);
            return victim is not null || run.HasExited;
        }, RunBound, "a running trial with a stored checkpoint");
        Assert.False(run.HasExited, "the sweep ended before any worker could be killed");
        var busyLog = Directory.GetFiles(logs, "worker-*.log").Single(f => ReadShared(f).Contains($"starting trial {victim} "));
        var pid = int.Parse(Regex.Match(ReadShared(busyLog), @"worker: pid (\d+)").Groups[1].Value);
        var clock = Stopwatch.StartNew();
        Process.GetProcessById(pid).Kill();
        WaitUntil(() => Count(journal, "trial-requeued") >= 1 || run.HasExited, TimeSpan.FromSeconds(30), "the dead worker's trial being re-queued");
        var requeueSeconds = clock.Elapsed.TotalSeconds;
        output.WriteLine($"worker pid {pid} killed while running {victim}; its trial re-queued after {requeueSeconds:0.0} s");

        Assert.True(run.WaitForExit(RunBound), "run finished");
        output.WriteLine(run.Stdout);
        Assert.Equal(0, run.ExitCode);
        Assert.True(requeueSeconds < 10, $"re-queue took {requeueSeconds:0.0} s");

        var state = Read(journal);
        Assert.True(state.IsCompleted);
        Assert.All(state.Trials.Values, t => Assert.True(t.IsTerminal));
        Assert.Equal(state.Trials.Count, Count(journal, "trial-completed") + state.Counts.Failed);

        // The killed trial continued from its stored epoch: at most the one epoch in flight at the kill trained twice.
        var killed = state.GetTrial(victim!);
        Assert.True(killed.Attempts >= 2);
        var resumedFrom = Assert.IsType<Sweep.Search.Engine.ResumePoint>(killed.ResumedFrom);
        Assert.Equal(victim, resumedFrom.FromTrialId);
        var firstRun = EpochsBeforeRequeue(journal, victim!);
        output.WriteLine($"{victim}: first run reported epochs up to {firstRun}, resumed from epoch {resumedFrom.Epoch}");
        Assert.InRange(resumedFrom.Epoch, 1, firstRun);
        Assert.True(firstRun - resumedFrom.Epoch <= 1, $"epochs {resumedFrom.Epoch + 1}..{firstRun} trained twice");
        // Same configs and, trial by trial, the same histories as the run nobody interrupted.
        foreach (var trial in expected.Trials.Values)
        {
            var again = state.GetTrial(trial.TrialId);
            Assert.Equal(trial.Spec.Params.Key, again.Spec.Params.Key);
            Assert.Equal(trial.Result!.ValAccHistory.ToList(), again.Result!.ValAccHistory.ToList());
            Assert.Equal(trial.Result.TrainAccHistory.ToList(), again.Result.TrainAccHistory.ToList());
        }
    }

    /// <summary>A trial the journal shows checkpointed but not yet finished, read straight from the journal table.</summary>
    private static string? CheckpointedButOpen(string journal)
    {
        try
        {
            using var probe = new JournalRows(journal);
            var finished = probe.TrialIdsOf("trial-completed").ToHashSet();
            return probe.TrialIdsOf("trial-checkpointed").FirstOrDefault(id => !finished.Contains(id));
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return null;
        }
    }

    /// <summary>The last epoch <paramref name="trialId"/> reported before it was first re-queued.</summary>
    private static int EpochsBeforeRequeue(string journal, string trialId)
    {
        using var probe = new JournalRows(journal);
        var requeuedAt = probe.Rows("trial-requeued").First(r => r.Json.GetProperty("trial_id").GetString() == trialId).Ordering;
        return probe.Rows("trial-epoch-reported")
            .Where(r => r.Ordering < requeuedAt && r.Json.GetProperty("trial_id").GetString() == trialId)
            .Max(r => r.Json.GetProperty("epoch").GetInt32());
    }

    [Fact]
    public void A_coordinator_killed_mid_sweep_resumes_without_rerunning_finished_trials_and_ends_with_the_uninterrupted_results()
    {
        // Trials of a few epochs, so that some are running with a stored checkpoint when the coordinator is killed.
        var spec = WriteSpec("resumable", numTrain: 1000, epochs: 4);

        var reference = Path.Combine(_temp.Folder, "reference.db");
        using (var uninterrupted = StartRun(spec, reference))
        {
            Assert.True(uninterrupted.WaitForExit(RunBound), "uninterrupted run finished");
            Assert.Equal(0, uninterrupted.ExitCode);
        }
        var expected = Read(reference);

        var journal = Path.Combine(_temp.Folder, "interrupted.db");
        using (var run = StartRun(spec, journal))
        {
            WaitUntil(() => (Count(journal, "trial-completed") >= 1 && CheckpointedButOpen(journal) is not null) || run.HasExited, RunBound,
                "a first finished trial and a running one with a stored checkpoint");
            Assert.False(run.HasExited, "the sweep must still be running when the coordinator is killed");
            run.KillHard();
        }
        var beforeResume = Read(journal);
        Assert.False(beforeResume.IsCompleted);
        var finishedBefore = beforeResume.Trials.Values.Where(t => t.IsTerminal).ToDictionary(t => t.TrialId, t => t.Result);
        Assert.NotEmpty(finishedBefore);
        var checkpointedBefore = beforeResume.Trials.Values.Where(t => !t.IsTerminal && t.Checkpoint is not null)
            .ToDictionary(t => t.TrialId, t => t.Checkpoint!.Epoch);
        Assert.NotEmpty(checkpointedBefore);

        var plan = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, TimeSpan.FromSeconds(60), null,
            "plan", spec, "--journal", journal);
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains($"stage {beforeResume.CurrentStage} of 2", plan.Stdout);

        var resumed = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, RunBound, null,
            "resume", "--journal", journal, "--local-workers", "2");
        output.WriteLine(resumed.Stdout);
        Assert.Equal(0, resumed.ExitCode);

        var after = Read(journal);
        Assert.True(after.IsCompleted);
        foreach (var (id, result) in finishedBefore)
        {
            Assert.Equal(1, after.GetTrial(id).Attempts);
            Assert.Equal(result, after.GetTrial(id).Result);
        }
        // Trials that were running with a stored checkpoint continued from it, not from epoch 0.
        foreach (var (id, epoch) in checkpointedBefore)
        {
            output.WriteLine($"{id} had epoch {epoch} stored at the kill; resumed from {after.GetTrial(id).ResumedFrom}");
            Assert.Equal(new Sweep.Search.Engine.ResumePoint(id, epoch), after.GetTrial(id).ResumedFrom);
        }
        // Same configs and, trial by trial, the same histories as the run nobody interrupted.
        Assert.Equal(
            expected.Trials.Values.Select(t => $"{t.TrialId} {t.Spec.Params.Key}").Order(),
            after.Trials.Values.Select(t => $"{t.TrialId} {t.Spec.Params.Key}").Order());
        foreach (var trial in expected.Trials.Values)
            Assert.Equal(trial.Result!.ValAccHistory.ToList(), after.GetTrial(trial.TrialId).Result!.ValAccHistory.ToList());
    }

    [Fact]
    public void A_coordinator_node_and_a_separately_started_two_slot_worker_finish_a_sweep()
    {
        var spec = WriteSpec("machines");
        var journal = Path.Combine(_temp.Folder, "machines.db");
        var checkpoints = Path.Combine(_temp.Folder, "checkpoints");
        using var coordinator = SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null,
            "coordinator", spec, "--journal", journal, "--host", "127.0.0.1", "--port", "0");
        Assert.True(coordinator.WaitForOutput(o => o.Contains("coordinator at "), TimeSpan.FromSeconds(60)), coordinator.Stderr);
        var address = Regex.Match(coordinator.Stdout, @"coordinator at (akka\.tcp://sweep@127\.0\.0\.1:\d+)").Groups[1].Value;

        using var worker = SweepProcess.Start(SweepProcess.WorkerDll, _temp.Folder, null,
            "worker", "--seed-nodes", address, "--slots", "2", "--threads", "1", "--data", RepoPaths.CifarDirectory(), "--checkpoint-dir", checkpoints);

        Assert.True(coordinator.WaitForExit(RunBound), "coordinator finished the sweep");
        Assert.Equal(0, coordinator.ExitCode);
        Assert.Contains("worker: pid", worker.Stdout);
        Assert.Contains("2 slot(s)", worker.Stdout);

        // The worker outlives the sweep (it serves the next coordinator) until it is told to stop.
        Assert.False(worker.HasExited);
        using (var terminate = Process.Start("kill", ["-TERM", worker.Id.ToString()]))
            terminate.WaitForExit(5000);
        Assert.True(worker.WaitForExit(TimeSpan.FromSeconds(30)), "worker stopped after SIGTERM");
        Assert.Equal(0, worker.ExitCode);

        var state = Read(journal);
        Assert.True(state.IsCompleted);
        Assert.All(state.Trials.Values.Where(t => t.Status == TrialStatus.Completed), t =>
        {
            Assert.StartsWith(checkpoints, t.Result!.CheckpointPath);
            Assert.True(File.Exists(t.Result.CheckpointPath));
        });
    }

    [Fact]
    public void Ctrl_c_stops_the_run_and_its_workers_and_leaves_a_resumable_journal()
    {
        // Long enough trials (20 epochs) that the sweep cannot finish between the first dispatch and the
        // interrupt, even while the status and leaderboard reads below take a few seconds.
        var spec = WriteSpec("interrupted", numTrain: 1000, epochs: 20);
        var journal = Path.Combine(_temp.Folder, "interrupted.db");
        using var run = StartRun(spec, journal);
        var logs = Path.Combine(_temp.Folder, "interrupted.workers");
        WaitUntil(() => Count(journal, "trial-dispatched") >= 1 || run.HasExited, RunBound, "a first dispatched trial");
        var workerPids = Directory.GetFiles(logs, "worker-*.log")
            .SelectMany(f => Regex.Matches(ReadShared(f), @"worker: pid (\d+)").Select(m => int.Parse(m.Groups[1].Value)))
            .ToList();
        Assert.NotEmpty(workerPids);

        // status and leaderboard read the journal while the coordinator is writing it.
        var status = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, TimeSpan.FromSeconds(60), null, "status", "--journal", journal);
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("interrupted: stage 1/2", status.Stdout);
        Assert.Contains("in progress", status.Stdout);
        var board = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, TimeSpan.FromSeconds(60), null, "leaderboard", "--journal", journal, "--format", "json");
        Assert.Equal(0, board.ExitCode);
        Assert.StartsWith("{", board.Stdout.Trim());
        Assert.Contains("\"version\": 2", board.Stdout);

        using (var interrupt = Process.Start("kill", ["-INT", run.Id.ToString()]))
            interrupt.WaitForExit(5000);

        Assert.True(run.WaitForExit(TimeSpan.FromSeconds(30)), "run stopped after SIGINT");
        output.WriteLine(run.Stdout);
        output.WriteLine(run.Stderr);
        Assert.Equal(130, run.ExitCode);
        Assert.Contains("sweep resume --journal", run.Stderr);
        WaitUntil(() => workerPids.All(pid => !IsAlive(pid)), TimeSpan.FromSeconds(10), "the local workers ending");
        var state = Read(journal);
        Assert.True(state.IsStarted);
        Assert.False(state.IsCompleted);
    }

    /// <summary>Reads a log that its worker process may still be writing.</summary>
    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void Dispose() => _temp.Dispose();
}
