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
}
