using Microsoft.Data.Sqlite;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Persistence;

/// <summary>
/// Issue 9: `status` on a valid journal in a read-only folder blamed the file ("not a readable SQLite journal"), and
/// failed reads left SQLite's -wal/-shm files behind (a read-only connection never removes the ones it creates).
/// </summary>
public sealed class ReadOnlyJournalTests : IDisposable
{
    private readonly TempJournal _journal = new();
    private string[] _frozen = [];

    public void Dispose()
    {
        ImmutableFiles.Clear(_frozen);
        _journal.Dispose();
    }

    [ImmutableFilesFact]
    public async Task Status_reads_a_valid_journal_in_a_read_only_folder()
    {
        await StartedJournal.WriteAsync(_journal);
        Assert.Equal([_journal.FilePath], Directory.GetFiles(_journal.Folder, "sweep.db*"));
        _frozen = [_journal.FilePath, _journal.Folder];
        ImmutableFiles.Set(_frozen);

        var (code, stdout, stderr) = Status();

        Assert.True(code == ExitCodes.Success, stderr);
        Assert.Contains("started-sweep: stage 1/2 | 3 pending", stdout);
        Assert.Contains("status: in progress", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public void A_failed_read_of_a_sqlite_file_that_is_no_journal_leaves_no_wal_or_shm_file()
    {
        using (var connection = new SqliteConnection($"Data Source={_journal.FilePath};Pooling=False"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hello');";
            create.ExecuteNonQuery();
        }
        Assert.Equal([_journal.FilePath], Directory.GetFiles(_journal.Folder, "sweep.db*"));

        var (code, _, stderr) = Status();

        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("holds no Sweep journal", stderr);
        Assert.Equal([_journal.FilePath], Directory.GetFiles(_journal.Folder, "sweep.db*"));
    }

    private (int Code, string Stdout, string Stderr) Status() =>
        SweepProcess.Run(SweepProcess.CoordinatorDll, Path.GetTempPath(), TimeSpan.FromSeconds(60), null, "status", "--journal", _journal.FilePath);
}
