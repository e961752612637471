using System.Diagnostics;
using System.Text.Json;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Engine;
using Sweep.Search.Trials;
using Sweep.TestSupport;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Cli;

/// <summary>
/// Successive halving with the real executables and real training: trials pause at their rungs and resume from their
/// checkpoints, and the sweep ends with the same trials and the same decisions under one worker (two slots), two
/// workers (one slot each), and after `kill -9` of the coordinator followed by `resume`.
/// </summary>
public sealed class SuccessiveHalvingProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan RunBound = TimeSpan.FromMinutes(3);
    private readonly TempJournal _temp = new();

    // FC nets, 4 epochs on 4,000 images, rungs after epochs 1 and 2 (η = 2): stage 1's 6 trials halve to 3 and then 1.
    private string WriteSpec() =>
        Write("halving", TinySpecs.Text("halving", RepoPaths.CifarDirectory(), family: "fc", numTrain: 4000, epochs: 4, firstStage: 6, secondStage: 3,
            extra: "pruning { rule = successive_halving, min_epochs = 1, reduction_factor = 2 }"));

    private string Write(string name, string text)
    {
        var path = Path.Combine(_temp.Folder, name + ".conf");
        File.WriteAllText(path, text);
        return path;
    }

    private SweepProcess StartRun(string spec, string journal, int workers) =>
        SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null, "run", spec, "--journal", journal, "--local-workers", workers.ToString());

    /// <summary>
    /// What the sweep decided and trained, order-free: each stage's trials with their configs, every promotion and pruning
    /// with the figures it was made on, and every completed trial's val history.
    /// </summary>
    private static List<string> Decisions(string journal)
    {
        using var rows = new JournalRows(journal);
        static string Id(JsonElement e) => e.GetProperty("trial_id").GetString()!;
        return
        [
            .. rows.Rows("stage-started").SelectMany(r => r.Json.GetProperty("trials").EnumerateArray()
                .Select(t => $"planned {Id(t)} {t.GetProperty("params").GetRawText()}")),
            .. rows.Rows("trial-promoted").Select(r => $"promoted {Id(r.Json)} past rung {r.Json.GetProperty("rung").GetInt32()}: {r.Json.GetProperty("reason").GetString()}"),
            .. rows.Rows("trial-pruned").Select(r => $"pruned {Id(r.Json)} after epoch {r.Json.GetProperty("epoch").GetInt32()}: {r.Json.GetProperty("reason").GetString()}"),
            .. rows.Rows("trial-completed").Select(r => $"completed {Id(r.Json)}: {r.Json.GetProperty("result").GetProperty("val_acc_history").GetRawText()}"),
        ];
    }

    private static SweepState Read(string journal) =>
        JournalReader.ReadStateAsync(JournalLocation.Parse(journal), TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();

    private void RunToEnd(string spec, string journal, int workers)
    {
        using var run = StartRun(spec, journal, workers);
        Assert.True(run.WaitForExit(RunBound), $"the run with {workers} worker(s) finished");
        output.WriteLine(run.Stdout);
        Assert.Equal(0, run.ExitCode);
    }

    [Fact]
    public void A_successive_halving_sweep_decides_the_same_with_one_or_two_workers_and_after_a_coordinator_kill()
    {
        var spec = WriteSpec();
        var one = Path.Combine(_temp.Folder, "one-worker.db");
        RunToEnd(spec, one, workers: 1);
        var expected = Decisions(one);
        var state = Read(one);

        // The rule did its work: 6 -> 3 -> 1 in stage 1 and 3 -> 1 -> 1 in stage 2, every promoted run resumed from the
        // trial's own checkpoint, and only the survivors trained all 4 epochs.
        Assert.True(state.IsCompleted);
        Assert.Equal(2, state.Counts.Completed);
        Assert.Equal(7, state.Counts.Pruned);
        var promotedRuns = state.Trials.Values.Sum(t => t.EarlierRuns.Count) - state.Counts.Pruned;
        Assert.Equal(promotedRuns, JournalRows.CountIn(one, "trial-promoted"));
        Assert.Equal(promotedRuns, JournalRows.CountIn(one, "trial-resumed"));
        var trialEpochs = state.Trials.Values.Sum(t => t.EpochsRun);
        output.WriteLine($"trial-epochs trained: {trialEpochs} of {state.Trials.Count * 4} without pruning");
        Assert.Equal(6 + 3 + 2 * 1 + 3 + 1 + 2 * 1, trialEpochs);
        Assert.All(state.Trials.Values.Where(t => t.Status == TrialStatus.Completed), t => Assert.Equal(4, t.EpochsRun));

        var two = Path.Combine(_temp.Folder, "two-workers.db");
        RunToEnd(spec, two, workers: 2);
        Assert.Equal(expected, Decisions(two));

        // The coordinator killed with SIGKILL once the first promotion is journaled, then resumed.
        var killed = Path.Combine(_temp.Folder, "killed.db");
        using (var run = StartRun(spec, killed, workers: 2))
        {
            var clock = Stopwatch.StartNew();
            while (JournalRows.CountIn(killed, "trial-promoted") == 0 && !run.HasExited && clock.Elapsed < RunBound)
                Thread.Sleep(100);
            Assert.False(run.HasExited, "the sweep must still be running when the coordinator is killed");
            run.KillHard();
        }
        var atKill = Read(killed);
        Assert.False(atKill.IsCompleted);
        output.WriteLine($"killed at: {atKill.Counts}");
        var resumed = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, RunBound, null, "resume", "--journal", killed, "--local-workers", "2");
        output.WriteLine(resumed.Stdout);
        Assert.Equal(0, resumed.ExitCode);
        Assert.True(Read(killed).IsCompleted);
        Assert.Equal(expected, Decisions(killed));
    }

    public void Dispose() => _temp.Dispose();
}
