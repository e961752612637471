using Sweep.TestSupport;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Sweep.Coordinator.Tests.Support;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Dashboard;

/// <summary>
/// The dashboard and the report in a real browser (Debian's chromium through Playwright) on a real tiny sweep: the
/// real executables, two local worker processes, real training on a slice of CIFAR-10.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan RunBound = TimeSpan.FromMinutes(4);
    private static readonly float WaitMs = (float)TimeSpan.FromMinutes(3).TotalMilliseconds;
    private readonly TempJournal _temp = new();

    [Fact]
    public async Task During_a_real_sweep_the_dashboard_shows_trials_live_and_then_the_report_loads_every_plot()
    {
        var clock = Stopwatch.StartNew();
        var spec = Path.Combine(_temp.Folder, "browser.conf");
        File.WriteAllText(spec, TinySpecs.Text("browser", RepoPaths.CifarDirectory()));
        var journal = Path.Combine(_temp.Folder, "browser.db");
        using var run = SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null,
            "run", spec, "--journal", journal, "--local-workers", "2", "--dashboard", "127.0.0.1:0");
        Assert.True(run.WaitForOutput(o => o.Contains("dashboard: serving"), TimeSpan.FromSeconds(60)), "dashboard started:\n" + run.Stdout + run.Stderr);
        var url = Regex.Match(run.Stdout, @"dashboard: serving (\S+)").Groups[1].Value;
        output.WriteLine($"dashboard at {url} after {clock.Elapsed.TotalSeconds:0.0} s");

        await using var chromium = await Chromium.LaunchAsync();
        var errors = new List<string>();
        var page = await chromium.NewPageAsync(errors);
        await page.GotoAsync(url);
        // A trial appears (running, or already on the leaderboard), with its status counts.
        await page.WaitForSelectorAsync("#running-rows tr, #leaderboard-rows tr", new() { Timeout = WaitMs });
        await page.WaitForFunctionAsync("() => /^\\d+$/.test(document.getElementById('count-completed').textContent)", null, new() { Timeout = WaitMs });
        var completedBefore = int.Parse((await page.TextContentAsync("#count-completed"))!);
        output.WriteLine($"first trial shown after {clock.Elapsed.TotalSeconds:0.0} s with {completedBefore} completed");
        // The completed count moves on without a reload (server-sent events).
        await page.WaitForFunctionAsync("n => Number(document.getElementById('count-completed').textContent) > n", completedBefore, new() { Timeout = WaitMs });
        output.WriteLine($"completed count changed after {clock.Elapsed.TotalSeconds:0.0} s");
        // Plots follow (redrawn as trials report, so only some may be loaded at any moment of a running sweep).
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#history img, #figures img')].some(i => i.complete && i.naturalWidth > 0)",
            null, new() { Timeout = WaitMs });
        Assert.True(await page.Locator("#leaderboard-rows tr svg.sparkline").CountAsync() > 0, "leaderboard rows have sparklines");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Chromium.ScreenshotFolder(), "dashboard-live.png"), FullPage = true });

        // The run pushes the sweep's final state to the page before it exits.
        await page.WaitForFunctionAsync("() => document.getElementById('status-line').textContent.startsWith('completed')", null, new() { Timeout = WaitMs });
        Assert.Equal(6, await page.EvaluateAsync<int>("() => ['completed', 'diverged', 'failed'].reduce((n, k) => n + Number(document.getElementById('count-' + k).textContent), 0)"));
        Assert.True(errors.Count == 0, "the live dashboard logged errors:\n" + string.Join("\n", errors));
        await page.CloseAsync();
        Assert.True(run.WaitForExit(RunBound), "the sweep finished");
        Assert.Equal(0, run.ExitCode);
        output.WriteLine($"sweep finished after {clock.Elapsed.TotalSeconds:0.0} s");

        // `dashboard` on the finished journal (no cluster): every plot loads (the tiny sweep has 7 drawable figures: two
        // histories, two parameter scatters, the coarse-search picture, learning curves and the timeline; 6 trials are
        // too few for parameter importance).
        using (var dashboard = SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null, "dashboard", "--journal", journal, "--port", "0"))
        {
            Assert.True(dashboard.WaitForOutput(o => o.Contains("dashboard: serving"), TimeSpan.FromSeconds(60)), "dashboard started:\n" + dashboard.Stdout + dashboard.Stderr);
            var finishedPage = await chromium.NewPageAsync(errors);
            await finishedPage.GotoAsync(Regex.Match(dashboard.Stdout, @"dashboard: serving (\S+)").Groups[1].Value);
            await finishedPage.WaitForFunctionAsync(
                "() => { const imgs = [...document.querySelectorAll('#history img, #figures img')]; return imgs.length >= 7 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
                null, new() { Timeout = WaitMs });
            Assert.Equal(6, await finishedPage.Locator("#leaderboard-rows tr").CountAsync());
            await finishedPage.ScreenshotAsync(new() { Path = Path.Combine(Chromium.ScreenshotFolder(), "dashboard-finished.png"), FullPage = true });
            await finishedPage.CloseAsync();
            Assert.True(errors.Count == 0, "the finished sweep's dashboard logged errors:\n" + string.Join("\n", errors));
        }

        var reportFolder = Path.Combine(_temp.Folder, "report");
        var report = SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, TimeSpan.FromSeconds(90), null,
            "report", "--journal", journal, "--out", reportFolder);
        Assert.True(report.ExitCode == 0, report.Stderr);
        var pngs = Directory.GetFiles(reportFolder, "*.png");
        var reportPage = await chromium.NewPageAsync(errors);
        await reportPage.GotoAsync(new Uri(Path.Combine(reportFolder, "report.html")).AbsoluteUri);
        await reportPage.WaitForLoadStateAsync(LoadState.Load);
        var widths = await reportPage.EvaluateAsync<int[]>("() => [...document.images].map(i => i.complete ? i.naturalWidth : 0)");
        Assert.Equal(pngs.Length, widths.Length);
        Assert.All(widths, w => Assert.True(w > 0, "an image of the report did not load"));
        Assert.True(errors.Count == 0, "the report logged errors:\n" + string.Join("\n", errors));
        await reportPage.ScreenshotAsync(new() { Path = Path.Combine(Chromium.ScreenshotFolder(), "report.png"), FullPage = true });
        output.WriteLine($"report with {widths.Length} plots checked; whole test {clock.Elapsed.TotalSeconds:0.0} s");
    }

    public void Dispose() => _temp.Dispose();
}
