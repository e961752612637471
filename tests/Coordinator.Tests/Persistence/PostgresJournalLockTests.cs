using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Persistence;

/// <summary>Issue 9, part 1 on PostgreSQL: the advisory lock admits one coordinator per journal database and names it.</summary>
[Collection(TemporaryPostgres.CollectionName)]
public sealed class PostgresJournalLockTests(TemporaryPostgres postgres)
{
    [Fact]
    public async Task A_second_holder_is_refused_with_the_first_ones_host_and_pid_until_the_first_lets_go()
    {
        var journal = JournalLocation.Parse(await postgres.CreateDatabaseAsync("locked"));
        var other = JournalLocation.Parse(await postgres.CreateDatabaseAsync("unlocked"));
        using (JournalLock.Acquire(journal))
        {
            var error = Assert.Throws<SweepUsageException>(() => JournalLock.Acquire(journal));
            Assert.Contains($"host {Environment.MachineName} pid {Environment.ProcessId}", error.Message);
            Assert.DoesNotContain('\n', error.Message);
            // Another database is another journal.
            using (JournalLock.Acquire(other))
            {
            }
        }
        using (JournalLock.Acquire(journal))
        {
        }
    }

    [Fact]
    public async Task The_lock_is_taken_again_when_the_server_comes_back_so_a_second_coordinator_stays_refused()
    {
        var journal = JournalLocation.Parse(await postgres.CreateDatabaseAsync("kept"));
        using var held = JournalLock.Acquire(journal, Timeout.InfiniteTimeSpan);
        postgres.StopServer();
        try
        {
            // While the server is down the check cannot reach it: the lock is not given up, only not held.
            held.CheckNow();
            Assert.False(held.Lost.IsCancellationRequested);
        }
        finally
        {
            postgres.StartServerAgain();
        }
        // The restart ended the lock's session. Before the fix nothing took the lock again, so this Acquire succeeded.
        held.CheckNow();
        var error = Assert.Throws<SweepUsageException>(() => JournalLock.Acquire(journal));
        Assert.Contains(JournalLock.Holder, error.Message);
        Assert.False(held.Lost.IsCancellationRequested);
        Assert.Null(held.LostReason);
    }

    [Fact]
    public async Task A_coordinator_whose_lock_another_took_during_an_outage_is_told_who_has_the_journal_now()
    {
        var journal = JournalLocation.Parse(await postgres.CreateDatabaseAsync("taken"));
        using var first = JournalLock.Acquire(journal, Timeout.InfiniteTimeSpan);
        postgres.StopServer();
        postgres.StartServerAgain();
        using var second = JournalLock.Acquire(journal, Timeout.InfiniteTimeSpan);
        first.CheckNow();
        Assert.True(first.Lost.IsCancellationRequested);
        Assert.Contains("taken over by another coordinator", first.LostReason);
        Assert.Contains(JournalLock.Holder, first.LostReason);
        Assert.DoesNotContain('\n', first.LostReason!);
        // The new holder keeps it.
        second.CheckNow();
        Assert.False(second.Lost.IsCancellationRequested);
    }

    [Fact]
    public async Task The_timer_retakes_the_lock_by_itself_after_a_restart()
    {
        var journal = JournalLocation.Parse(await postgres.CreateDatabaseAsync("timed"));
        using var held = JournalLock.Acquire(journal, TimeSpan.FromMilliseconds(200));
        postgres.StopServer();
        postgres.StartServerAgain();
        // Watched in pg_locks, not by trying to take the lock, which would race the keeper for it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await postgres.QueryCountAsync("timed", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())") == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the lock was not taken again within 20 s of the server's restart");
            await Task.Delay(100);
        }
        Assert.Throws<SweepUsageException>(() => JournalLock.Acquire(journal, Timeout.InfiniteTimeSpan));
        Assert.False(held.Lost.IsCancellationRequested);
    }
}
