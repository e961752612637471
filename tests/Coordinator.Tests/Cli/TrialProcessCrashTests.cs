using Sweep.TestSupport;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Engine;
using Sweep.Search.Trials;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Cli;

/// <summary>
/// A native crash of training, for real: during a tiny `run` with two local workers, a slot's trial process gets
/// SIGSEGV mid-trial. The worker node stays up in the cluster, the trial is retried, the sweep completes with every
/// trial exactly once, and the journal, status, leaderboard and run summary name the crash.
/// </summary>
public sealed class TrialProcessCrashTests(ITestOutputHelper output) : IDisposable
{
    private const string CrashReason = "trial process crashed (signal 11)";
    private static readonly TimeSpan RunBound = TimeSpan.FromMinutes(3);
    private readonly TempJournal _temp = new();

    [Fact]
    public void A_trial_process_killed_with_sigsegv_mid_trial_fails_only_that_trial_which_is_retried_on_a_worker_that_stays_up()
    {
        var spec = Path.Combine(_temp.Folder, "segv.conf");
        // Two retries: a sent SIGSEGV that lands on a thread running managed code becomes a NullReferenceException there
        // (the runtime cannot tell it from a fault), which fails the trial once more before the next signal ends the process.
        File.WriteAllText(spec, TinySpecs.Text("segv", RepoPaths.CifarDirectory(), numTrain: 1000, epochs: 6).Replace("max_retries = 1", "max_retries = 2"));
        var journal = Path.Combine(_temp.Folder, "segv.db");
        var logs = Path.Combine(_temp.Folder, "segv.workers");
        using var run = SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null, "run", spec, "--journal", journal, "--local-workers", "2");

        // A trial past its first epoch (five more are left, so it is still training when the signal lands), the worker
        // running it, and that worker's trial process.
        (string TrialId, string Worker)? busy = null;
        WaitUntil(() => (busy = TrialPastFirstEpoch(journal)) is not null || run.HasExited, RunBound, "a trial finishing its first epoch");
        Assert.False(run.HasExited, "the sweep ended before a trial process could be killed");
        var workerPid = WorkerPids(logs)[busy!.Value.Worker];
        var child = Assert.Single(ProcessTree.Children(workerPid, "trial-host"));
        ProcessTree.Segfault(child);
        output.WriteLine($"SIGSEGV to trial process {child} of worker {workerPid} running {busy.Value.TrialId}");

        WaitUntil(() => Events(journal, "trial-failed").Count >= 1 || run.HasExited, TimeSpan.FromSeconds(60), "the crashed trial's failure");
        Assert.True(ProcessTree.IsAlive(workerPid), "the worker node outlived its trial process");
        Assert.True(run.WaitForExit(RunBound), "run finished");
        output.WriteLine(run.Stdout);
        Assert.Equal(0, run.ExitCode);

        // Journal: the killed trial failed with the crash as its reason, then a retry completed; nobody was "lost".
        var failures = Events(journal, "trial-failed");
        foreach (var failure in failures)
            output.WriteLine($"trial-failed: {failure.Json}");
        // The trial the killed process was running: normally the one seen past its first epoch, but on a fast machine
        // that one may have finished and the process moved on to its next trial before the signal landed.
        var crashedId = failures.First().Json.GetProperty("trial_id").GetString()!;
        Assert.All(failures, f => Assert.Equal(crashedId, f.Json.GetProperty("trial_id").GetString()));
        var failed = failures.Last();
        Assert.Equal(CrashReason, failed.Json.GetProperty("reason").GetString());
        Assert.Empty(Events(journal, "trial-requeued"));
        var state = Read(journal);
        Assert.True(state.IsCompleted);
        Assert.All(state.Trials.Values, t => Assert.Equal(TrialStatus.Completed, t.Status));
        var crashed = state.GetTrial(crashedId);
        Assert.Equal(failures.Count + 1, crashed.Attempts);
        Assert.Equal(CrashReason, crashed.FailureReason);
        Assert.Equal(state.Trials.Count, Events(journal, "trial-completed").Count);

        // The worker kept its identity and membership: it was handed trials after the crash, and was never restarted.
        Assert.Contains(Events(journal, "trial-dispatched"), d => d.Ordering > failed.Ordering && d.Json.GetProperty("worker").GetString() == busy.Value.Worker);
        foreach (var log in Directory.GetFiles(logs, "worker-*.log"))
            Assert.Single(Regex.Matches(ProcessTree.ReadShared(log), @"worker: pid \d+"));
        Assert.Contains(CrashReason, string.Concat(Directory.GetFiles(logs, "worker-*.log").Select(ProcessTree.ReadShared)));
        Assert.Contains("local worker restarts: 0", run.Stdout);
        Assert.Contains("trials hit by a trial-process crash: 1", run.Stdout);

        var status = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, TimeSpan.FromSeconds(60), null, "status", "--journal", journal);
        Assert.Contains($"{crashedId} failed {failures.Count} time(s), retried: {CrashReason}", status.Stdout);
        var board = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, TimeSpan.FromSeconds(60), null, "leaderboard", "--journal", journal, "--format", "csv");
        foreach (var id in state.Trials.Keys)
            Assert.Single(Regex.Matches(board.Stdout, $@"(^|,){Regex.Escape(id)}(,|$)", RegexOptions.Multiline));
        Assert.Contains(CrashReason, board.Stdout.Split('\n').Single(line => line.Contains(crashedId)));
    }

    private static SweepState Read(string journal) =>
        JournalReader.ReadStateAsync(JournalLocation.Parse(journal), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();

    /// <summary>The first trial that reported epoch 1 and has epochs left, with the worker it was dispatched to.</summary>
    private static (string TrialId, string Worker)? TrialPastFirstEpoch(string journal)
    {
        var completed = Events(journal, "trial-completed").Select(e => e.Json.GetProperty("trial_id").GetString()).ToHashSet();
        var trial = Events(journal, "trial-epoch-reported")
            .Where(e => e.Json.GetProperty("epoch").GetInt32() == 1)
            .Select(e => e.Json.GetProperty("trial_id").GetString()!)
            .FirstOrDefault(id => !completed.Contains(id));
        if (trial is null)
            return null;
        var worker = Events(journal, "trial-dispatched").Last(e => e.Json.GetProperty("trial_id").GetString() == trial).Json.GetProperty("worker").GetString()!;
        return (trial, worker);
    }

    /// <summary>Worker id -> process id, from the line each local worker logs when it joins.</summary>
    private static Dictionary<string, int> WorkerPids(string logs) =>
        Directory.GetFiles(logs, "worker-*.log")
            .Select(f => Regex.Match(ProcessTree.ReadShared(f), @"worker: pid (\d+), (\S+) joined"))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[2].Value, m => int.Parse(m.Groups[1].Value));

    /// <summary>The journal's events of one kind, in order, read while the coordinator may be writing (read-only, WAL).</summary>
    private static List<(long Ordering, JsonElement Json)> Events(string journal, string manifest)
    {
        if (!File.Exists(journal))
            return [];
        try
        {
            using var connection = new SqliteConnection($"Data Source={journal};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT ordering, CAST(message AS TEXT) FROM journal WHERE manifest = $m ORDER BY ordering";
            command.Parameters.AddWithValue("$m", manifest);
            using var reader = command.ExecuteReader();
            var events = new List<(long, JsonElement)>();
            while (reader.Read())
                events.Add((reader.GetInt64(0), JsonDocument.Parse(reader.GetString(1)).RootElement.Clone()));
            return events;
        }
        catch (SqliteException)
        {
            return []; // not created yet, or its tables not yet
        }
    }

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

    public void Dispose() => _temp.Dispose();
}
