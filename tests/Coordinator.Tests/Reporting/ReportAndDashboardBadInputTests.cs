using Sweep.TestSupport;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Reporting;

/// <summary>
/// `report` and `dashboard` on bad input, through the real executable: a journal whose sweep has no finished trial (a
/// page that says so), a port already in use and an output folder that cannot be written (one-line errors, exit 2).
/// </summary>
public sealed class ReportAndDashboardBadInputTests : IDisposable
{
    private static readonly TimeSpan CommandBound = TimeSpan.FromSeconds(90);
    private readonly TempJournal _temp = new();

    private (int ExitCode, string Stdout, string Stderr) Sweep(params string[] args) =>
        SweepProcess.Run(SweepProcess.CoordinatorDll, _temp.Folder, CommandBound, null, args);

    private static void AssertOneLineError(string stderr, string expected)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + stderr);
        Assert.StartsWith("sweep: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    private string WriteSpec()
    {
        var path = Path.Combine(_temp.Folder, "no-trials.conf");
        File.WriteAllText(path, TinySpecs.Text("no-trials", RepoPaths.CifarDirectory()));
        return path;
    }

    /// <summary>A journal whose sweep started but never ran a trial: a coordinator with no worker, stopped after stage 1 began.</summary>
    private string JournalWithoutFinishedTrials()
    {
        using var coordinator = SweepProcess.Start(SweepProcess.CoordinatorDll, _temp.Folder, null,
            "coordinator", WriteSpec(), "--journal", _temp.FilePath, "--port", "0");
        var clock = Stopwatch.StartNew();
        while (StageStarted() == 0)
        {
            Assert.True(clock.Elapsed < CommandBound && !coordinator.HasExited, "the coordinator did not start the sweep:\n" + coordinator.Stdout + coordinator.Stderr);
            Thread.Sleep(200);
        }
        coordinator.KillHard();
        return _temp.FilePath;
    }

    private long StageStarted()
    {
        try
        {
            return _temp.CountEvents("stage-started");
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0; // the journal or its tables do not exist yet
        }
    }

    [Fact]
    public void A_journal_without_finished_trials_gets_a_page_saying_so_and_a_busy_port_a_one_line_error()
    {
        var journal = JournalWithoutFinishedTrials();
        var folder = Path.Combine(_temp.Folder, "report");
        var report = Sweep("report", "--journal", journal, "--out", folder);
        Assert.Equal(0, report.ExitCode);
        AssertOneLineError(report.Stderr, "no trial of this sweep has finished yet");
        var page = File.ReadAllText(Path.Combine(folder, "report.html"));
        Assert.Contains("id=\"no-trials\"", page);
        Assert.EndsWith("</html>\n", page);
        Assert.Empty(Directory.GetFiles(folder, "*.png"));

        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var dashboard = Sweep("dashboard", "--journal", journal, "--port", port);
        Assert.Equal(2, dashboard.ExitCode);
        AssertOneLineError(dashboard.Stderr, $"cannot serve the dashboard on 127.0.0.1:{port}: the port is already in use");

        var run = Sweep("run", WriteSpec(), "--journal", Path.Combine(_temp.Folder, "never.db"), "--local-workers", "0", "--dashboard", "127.0.0.1:" + port);
        Assert.Equal(2, run.ExitCode);
        AssertOneLineError(run.Stderr, "the port is already in use");
    }

    [Fact]
    public void An_output_folder_that_cannot_be_written_and_a_missing_journal_are_one_line_errors()
    {
        var blocker = Path.Combine(_temp.Folder, "a-file");
        File.WriteAllText(blocker, "");
        var journal = JournalWithoutFinishedTrials();
        var unwritable = Sweep("report", "--journal", journal, "--out", Path.Combine(blocker, "report"));
        Assert.Equal(2, unwritable.ExitCode);
        AssertOneLineError(unwritable.Stderr, "cannot write the report to");

        var missing = Sweep("report", "--journal", Path.Combine(_temp.Folder, "missing.db"));
        Assert.Equal(2, missing.ExitCode);
        AssertOneLineError(missing.Stderr, "does not exist");

        var badEndpoint = Sweep("run", WriteSpec(), "--journal", Path.Combine(_temp.Folder, "never.db"), "--local-workers", "0", "--dashboard", "example:80x");
        Assert.Equal(2, badEndpoint.ExitCode);
        AssertOneLineError(badEndpoint.Stderr, "--dashboard 'example:80x' is not [HOST:]PORT");
    }

    public void Dispose() => _temp.Dispose();
}
