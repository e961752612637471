using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Persistence;

/// <summary>
/// Issue 9, part 1: a second coordinator on the same journal stops at once with one line naming the running one's
/// host and pid, while status and leaderboard still read the journal.
/// </summary>
public sealed class JournalLockTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly TempJournal _journal = new();

    public void Dispose() => _journal.Dispose();

    [Fact]
    public void A_second_holder_is_refused_with_the_first_ones_host_and_pid_until_the_first_lets_go()
    {
        using (JournalLock.Acquire(_journal.Location))
        {
            var error = Assert.Throws<SweepUsageException>(() => JournalLock.Acquire(_journal.Location));
            Assert.Contains($"host {Environment.MachineName} pid {Environment.ProcessId}", error.Message);
            Assert.DoesNotContain('\n', error.Message);
        }
        using (JournalLock.Acquire(_journal.Location))
        {
        }
    }

    [Fact]
    public async Task A_second_coordinator_exits_at_once_while_status_and_leaderboard_still_read_the_journal()
    {
        await StartedJournal.WriteAsync(_journal);
        using var running = JournalLock.Acquire(_journal.Location);

        var started = DateTime.UtcNow;
        var (code, stdout, stderr) = SweepProcess.Run(SweepProcess.CoordinatorDll, _journal.Folder, Bound, null,
            "resume", "--journal", _journal.FilePath, "--local-workers", "0");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30), "the second coordinator did not stop at once");
        Assert.Equal(ExitCodes.BadInput, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"pid {Environment.ProcessId}", line);
        Assert.Contains("in use by a running coordinator", line);
        Assert.DoesNotContain("coordinator at", stdout);

        foreach (var reader in new[] { "status", "leaderboard" })
        {
            var (readCode, readOut, _) = SweepProcess.Run(SweepProcess.CoordinatorDll, _journal.Folder, Bound, null, reader, "--journal", _journal.FilePath);
            Assert.Equal(0, readCode);
            if (reader == "status")
                Assert.Contains("started-sweep", readOut);
        }
    }
}
