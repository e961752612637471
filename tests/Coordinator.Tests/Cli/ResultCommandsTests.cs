using System.Text.Json.Nodes;
using Sweep.Coordinator.Tests.Support;
using Sweep.TestSupport;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Cli;

/// <summary>
/// `export` and `test` on a real finished sweep (tiny fc trials on real CIFAR-10, checkpoints stored by the
/// coordinator): the weights and sidecar come out of the store, the test accuracy is measured once, journaled, and
/// shown by the leaderboard; bad inputs are one line and exit 2.
/// </summary>
public sealed class ResultCommandsTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(4);
    private readonly TempJournal _temp = new();

    private (int ExitCode, string Stdout, string Stderr) Sweep(params string[] args)
    {
        var result = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, Bound, null, args);
        output.WriteLine($"$ sweep {string.Join(' ', args)} -> {result.ExitCode}\n{result.Stdout}{result.Stderr}");
        return result;
    }

    private static JsonArray LeaderboardRows(string json) => JsonNode.Parse(json)!["rows"]!.AsArray();

    [Fact]
    public void Test_measures_the_top_trials_once_and_export_writes_the_best_weights_with_their_sidecar()
    {
        var spec = Path.Combine(_temp.Folder, "results.conf");
        File.WriteAllText(spec, TinySpecs.Text("results", RepoPaths.CifarDirectory(), family: "fc", numTrain: 400, epochs: 1));
        var journal = Path.Combine(_temp.Folder, "results.db");
        Assert.Equal(0, Sweep("run", spec, "--journal", journal, "--local-workers", "1").ExitCode);

        var before = LeaderboardRows(Sweep("leaderboard", "--journal", journal, "--format", "json").Stdout);
        Assert.All(before, row => Assert.Null((double?)row!["test_acc"]));

        var first = Sweep("test", "--journal", journal, "--top", "2");
        Assert.Equal(0, first.ExitCode);
        var rows = LeaderboardRows(Sweep("leaderboard", "--journal", journal, "--format", "json").Stdout);
        var tested = rows.Take(2).Select(row => (double)row!["test_acc"]!).ToList();
        // A model trained for one epoch on 400 images is better than chance (0.1) on the 1,000 test images, and far from perfect.
        Assert.All(tested, acc => Assert.InRange(acc, 0.11, 0.6));
        Assert.All(rows.Skip(2), row => Assert.Null((double?)row!["test_acc"]));
        Assert.Contains(tested[0].ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture), first.Stdout);
        Assert.Equal(2, TempJournal.CountEventsIn(journal, "trial-tested"));

        // Run again: the stored figures, not a second measurement; the table gains the test column.
        var again = Sweep("test", "--journal", journal, "--top", "2");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("(stored", again.Stdout);
        Assert.Equal(2, TempJournal.CountEventsIn(journal, "trial-tested"));
        Assert.Contains("test_acc", Sweep("leaderboard", "--journal", journal).Stdout);

        var exported = Path.Combine(_temp.Folder, "export");
        Assert.Equal(0, Sweep("export", "--journal", journal, "--best", "--out", exported).ExitCode);
        var best = (string)rows[0]!["trial_id"]!;
        Assert.True(new FileInfo(Path.Combine(exported, best + ".pt")).Length > 1000);
        var sidecar = JsonNode.Parse(File.ReadAllText(Path.Combine(exported, best + ".json")))!;
        Assert.Equal(best, (string?)sidecar["trial_id"]);
        Assert.Equal("results", (string?)sidecar["sweep"]);
        Assert.Equal((double)rows[0]!["best_val_acc"]!, (double)sidecar["best_val_acc"]!);
        Assert.Equal(tested[0], (double)sidecar["test_acc"]!);
        Assert.Equal("fc", (string?)sidecar["params"]!["model"]);
        Assert.Equal("fc", (string?)sidecar["model"]!["family"]);

        foreach (var (args, expected) in new (string[], string)[]
                 {
                     (["export", "--journal", journal, "--best", "--trial", best, "--out", exported], "exactly one of --trial ID and --best"),
                     (["export", "--journal", journal, "--trial", "s9-t0001", "--out", exported], "has no trial s9-t0001"),
                     (["export", "--journal", journal, "--trial", "../../etc", "--out", exported], "is not a trial id"),
                     (["test", "--journal", journal, "--top", "0"], "--top 0 must be at least 1"),
                     // /proc takes no new folder, even from root.
                     (["export", "--journal", journal, "--best", "--out", "/proc/sweep-export"], "cannot create output folder"),
                 })
        {
            var bad = Sweep(args);
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains(expected, bad.Stderr);
            Assert.Single(bad.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        // The third trial's checkpoint is gone: measuring the top 3 again stops at it, and keeps the two measured before.
        var completed = rows.Where(row => (string?)row!["status"] == "completed").ToList();
        Assert.True(completed.Count >= 3, $"{completed.Count} completed trials");
        var third = (string)completed[2]!["trial_id"]!;
        var files = Directory.GetFiles(_temp.Folder, "*.ckpt", SearchOption.AllDirectories).Where(f => f.Contains(third, StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(files);
        files.ForEach(File.Delete);
        var partial = Sweep("test", "--journal", journal, "--top", "3", "--force");
        Assert.Equal(2, partial.ExitCode);
        Assert.Contains($"trial {third} has no intact stored checkpoint", partial.Stderr);
        Assert.Single(partial.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(4, TempJournal.CountEventsIn(journal, "trial-tested"));
    }

    [Fact]
    public void A_sweep_that_kept_no_checkpoints_has_nothing_to_export_or_test_and_its_journal_is_left_alone()
    {
        var spec = Path.Combine(_temp.Folder, "kept-none.conf");
        File.WriteAllText(spec, TinySpecs.Text("kept-none", RepoPaths.CifarDirectory(), family: "fc", numTrain: 400, epochs: 1) + "\ncheckpoints { every = 0 }\n");
        var journal = Path.Combine(_temp.Folder, "kept-none.db");
        Assert.Equal(0, Sweep("run", spec, "--journal", journal, "--local-workers", "1").ExitCode);
        var events = TempJournal.CountEventsIn(journal, "trial-completed");

        foreach (var args in new[]
                 {
                     new[] { "export", "--journal", journal, "--best", "--out", Path.Combine(_temp.Folder, "export") },
                     new[] { "test", "--journal", journal, "--top", "1" },
                 })
        {
            var bad = Sweep(args);
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains("has no intact stored checkpoint", bad.Stderr);
            Assert.Single(bad.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        Assert.Equal(0, TempJournal.CountEventsIn(journal, "trial-tested"));
        Assert.Equal(events, TempJournal.CountEventsIn(journal, "trial-completed"));
    }

    [Fact]
    public void Trials_without_best_weights_are_refused_by_name_and_the_journal_is_left_alone()
    {
        // A learning rate of 1e3 makes every trial diverge in its first steps: the sweep completes, no trial has weights.
        var spec = Path.Combine(_temp.Folder, "diverged.conf");
        File.WriteAllText(spec, $$"""
            name = diverged
            seed = 3
            data { directory = "{{RepoPaths.CifarDirectory().Replace("\\", "/")}}", num_train = 200 }
            model { family = fc, hidden_dims = [20] }
            training { update_rule = sgd, batch_size = 50 }
            space { learning_rate { type = float, low = 1e3, high = 1e4, log = true } }
            stages = [ { count = 2, epochs = 1 } ]
            """);
        var journal = Path.Combine(_temp.Folder, "diverged.db");
        Sweep("run", spec, "--journal", journal, "--local-workers", "1");
        var rows = LeaderboardRows(Sweep("leaderboard", "--journal", journal, "--format", "json").Stdout);
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row => Assert.Equal("diverged", (string?)row!["status"]));
        var journalBytes = File.ReadAllBytes(journal);

        foreach (var (args, expected) in new (string[], string)[]
                 {
                     (["export", "--journal", journal, "--trial", "s1-t0001", "--out", Path.Combine(_temp.Folder, "export")],
                         "trial s1-t0001 is diverged, not completed, so it has no best weights to export"),
                     (["export", "--journal", journal, "--best", "--out", Path.Combine(_temp.Folder, "export")], "holds no completed trial"),
                     (["test", "--journal", journal, "--top", "1"], "holds no completed trial"),
                 })
        {
            var bad = Sweep(args);
            Assert.Equal(2, bad.ExitCode);
            Assert.Contains(expected, bad.Stderr);
            Assert.Single(bad.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        Assert.Equal(journalBytes, File.ReadAllBytes(journal));
        Assert.False(Directory.Exists(Path.Combine(_temp.Folder, "export")));
    }

    public void Dispose() => _temp.Dispose();
}
