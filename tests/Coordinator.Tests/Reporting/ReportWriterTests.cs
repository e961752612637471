using System.Buffers.Binary;
using System.Text.RegularExpressions;
using SkiaSharp;
using Sweep.Coordinator.Reporting;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Engine;
using Sweep.Search.Progress;

namespace Sweep.Coordinator.Tests.Reporting;

/// <summary>The report folder: one PNG per figure (real, non-blank images) and a self-contained report.html.</summary>
public sealed class ReportWriterTests : IDisposable
{
    private readonly TempJournal _temp = new();

    private (string Html, IReadOnlyList<string> Pngs) Write(SweepState state, string folder = "report") =>
        ReportWriter.Write(SweepFacts.Of(state, ReportSweeps.T0.AddHours(1)), Path.Combine(_temp.Folder, folder));

    [Fact]
    public void A_finished_sweep_gets_every_plot_as_a_real_png()
    {
        var (_, pngs) = Write(ReportSweeps.Run(ReportSweeps.Spec()));
        string[] expected = [
            "history-epochs", "history-time", "param-dropout", "param-learning_rate", "param-weight_scale", "coarse-search",
            "learning-curves", "choice-normalization", "importance", "worker-timeline"];
        Assert.Equal(expected.Order(), pngs.Select(Path.GetFileNameWithoutExtension).Order()!);
        foreach (var png in pngs)
        {
            var bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 10_000, $"{Path.GetFileName(png)} is only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            Assert.Equal((ReportFigure.Width, ReportFigure.Height), (BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20))));
            using var bitmap = SKBitmap.Decode(png);
            var colours = new HashSet<uint>();
            for (var y = 0; y < bitmap.Height; y += 3)
                for (var x = 0; x < bitmap.Width; x += 3)
                    colours.Add((uint)bitmap.GetPixel(x, y));
            Assert.True(colours.Count > 20, $"{Path.GetFileName(png)} has only {colours.Count} colours: nearly blank");
        }
    }

    [Fact]
    public void The_page_is_self_contained_and_embeds_each_png_once()
    {
        var (html, pngs) = Write(ReportSweeps.Run(ReportSweeps.Spec()));
        var page = File.ReadAllText(html);
        // Outside the embedded images (whose base64 text can hold any four letters): no link to anywhere.
        var text = Regex.Replace(page, "data:image/png;base64,[A-Za-z0-9+/=]+", "");
        Assert.DoesNotContain("http", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("//", text);
        var sources = Regex.Matches(page, "<img [^>]*src=\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(pngs.Count, sources.Count);
        Assert.All(sources, s => Assert.StartsWith("data:image/png;base64,", s));
        Assert.Equal(pngs.Select(p => Convert.ToBase64String(File.ReadAllBytes(p))).Order(), sources.Select(s => s["data:image/png;base64,".Length..]).Order());
        Assert.Contains("<table>", page);
        Assert.Equal(14, Regex.Matches(page, "<svg class=\"sparkline\"").Count); // one per leaderboard row
        Assert.EndsWith("</html>\n", page);
    }

    [Fact]
    public void A_halving_sweep_gets_the_pruning_figure_and_a_timeline_bar_per_run()
    {
        var spec = ReportSweeps.Spec() with { Pruning = new Search.Specs.PruningSpec(Search.Specs.PruningRule.SuccessiveHalving, MinEpochs: 1, ReductionFactor: 3) };
        var state = ReportSweeps.Run(spec);
        Assert.True(state.IsCompleted);
        Assert.Contains(state.Trials.Values, t => t.Status == Search.Trials.TrialStatus.Pruned && t.EpochsRun == 1);
        var facts = SweepFacts.Of(state, ReportSweeps.T0.AddHours(1));
        // One bar per run: every trial ran once to the rung, the promoted ones once more.
        Assert.Equal(state.Trials.Values.Sum(t => t.EarlierRuns.Count + (t.Status == Search.Trials.TrialStatus.Pruned ? 0 : 1)), facts.Runs.Length);
        Assert.True(facts.Runs.Length > state.Trials.Count);
        var (html, pngs) = Write(state);
        Assert.Contains("pruning", pngs.Select(Path.GetFileNameWithoutExtension));
        Assert.Contains("Pruning: every trial", File.ReadAllText(html));
        // A sweep that prunes nothing has no such figure.
        Assert.DoesNotContain("pruning", Write(ReportSweeps.Run(ReportSweeps.Spec()), "plain").Pngs.Select(Path.GetFileNameWithoutExtension));
    }

    [Fact]
    public void A_pruned_trial_is_listed_with_its_status_and_the_summary_gives_the_slot_utilization()
    {
        var spec = ReportSweeps.Spec() with { Pruning = new Search.Specs.PruningSpec(Search.Specs.PruningRule.Median, MinEpochs: 1, MinPeers: 1) };
        var state = ReportSweeps.Run(spec, finishLimit: 6);
        var engine = new SweepEngine();
        var trial = state.RunningTrials.First();
        state = engine.ReportEpoch(state, trial.TrialId, trial.Worker!, 1, 2.3, 0.05, 0.01).Aggregate(state, (s, e) => s.Apply(e));
        var pruned = engine.Prune(state, trial.TrialId, ReportSweeps.T0.AddMinutes(30));
        Assert.IsType<TrialPruned>(pruned[0]);
        state = pruned.Aggregate(state, (s, e) => s.Apply(e));

        var (html, pngs) = Write(state);
        var page = File.ReadAllText(html);
        Assert.Contains("<td>pruned</td>", page);
        Assert.Contains("6 completed, 0 diverged, 0 failed, 1 pruned", page);
        Assert.Matches(@"slot utilization \d+\.\d% \(\d+ busy slot-seconds over 2 slot\(s\) x \d+ s\)", page);
        Assert.NotEmpty(pngs);
    }

    [Fact]
    public void A_sweep_without_finished_trials_gets_a_page_that_says_so_and_no_plots()
    {
        var started = SweepState.Empty;
        foreach (var e in new SweepEngine().Start(ReportSweeps.Spec())) started = started.Apply(e);
        var (html, pngs) = Write(started);
        Assert.Empty(pngs);
        var page = File.ReadAllText(html);
        Assert.Contains("id=\"no-trials\"", page);
        Assert.Contains("No trial of this sweep has finished yet", page);
        Assert.DoesNotContain("<img", page);
        Assert.EndsWith("</html>\n", page);

        var (emptyHtml, _) = Write(SweepState.Empty, "empty");
        Assert.Contains("holds no sweep", File.ReadAllText(emptyHtml));
    }

    [Fact]
    public void Too_few_trials_for_importance_give_a_message_instead_of_a_plot()
    {
        var (html, pngs) = Write(ReportSweeps.Run(ReportSweeps.Spec(), finishLimit: 5));
        Assert.DoesNotContain(pngs, p => p.EndsWith("importance.png", StringComparison.Ordinal));
        Assert.Contains("parameter importance needs at least 8 completed trials; this sweep has", File.ReadAllText(html));
    }

    [Fact]
    public void A_folder_that_cannot_be_written_is_a_one_line_usage_error()
    {
        var blocker = Path.Combine(_temp.Folder, "a-file");
        File.WriteAllText(blocker, "");
        var error = Assert.Throws<Sweep.Contract.Cli.SweepUsageException>(() => Write(ReportSweeps.Run(ReportSweeps.Spec(), finishLimit: 2), Path.Combine("a-file", "report")));
        Assert.Contains("cannot write the report to", error.Message);
        Assert.Contains("pass --out a folder you can write", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    public void Dispose() => _temp.Dispose();
}
