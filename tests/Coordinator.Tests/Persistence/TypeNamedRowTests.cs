using Microsoft.Data.Sqlite;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Persistence;

/// <summary>
/// Issue 9: a journal row written for Akka's type-naming JSON serializer (id 1) with
/// <c>{"$type": "...SweepCompleted..."}</c> made <c>status</c> report "complete". It is refused as corrupt now, with
/// one line on stderr and no log spew on stdout. A journal with a gap in its events is refused as corrupt too.
/// </summary>
public sealed class TypeNamedRowTests : IDisposable
{
    private readonly TempJournal _journal = new();

    public void Dispose() => _journal.Dispose();

    [Fact]
    public async Task A_row_that_names_a_type_is_refused_as_corrupt_in_one_line()
    {
        await StartedJournal.WriteAsync(_journal);
        using (var connection = new SqliteConnection($"Data Source={_journal.FilePath};Pooling=False"))
        {
            connection.Open();
            using var insert = connection.CreateCommand();
            insert.CommandText = """
                INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
                SELECT created, 0, persistence_id, sequence_number + 1, $message, '', 1, writer_uuid
                FROM journal ORDER BY sequence_number DESC LIMIT 1
                """;
            insert.Parameters.AddWithValue("$message", """{"$type":"Sweep.Search.Engine.SweepCompleted, Sweep.Search"}"""u8.ToArray());
            Assert.Equal(1, insert.ExecuteNonQuery());
        }

        var (code, stdout, stderr) = Status();

        Assert.Equal(ExitCodes.BadInput, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sweep: ", line);
        Assert.Contains("could not be read", line);
        Assert.DoesNotContain("complete", stdout);
        Assert.DoesNotContain(" at ", stdout);
        Assert.DoesNotContain("ERROR", stdout);
    }

    [Fact]
    public async Task A_journal_missing_events_is_corrupt_not_complete()
    {
        await StartedJournal.WriteAsync(_journal);
        using (var connection = new SqliteConnection($"Data Source={_journal.FilePath};Pooling=False"))
        {
            connection.Open();
            using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM journal WHERE sequence_number = 1";
            Assert.Equal(1, delete.ExecuteNonQuery());
        }

        var (code, stdout, stderr) = Status();

        Assert.Equal(ExitCodes.BadInput, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("corrupt: event 1 is missing", line);
        Assert.DoesNotContain("complete", stdout);
    }

    /// <summary>`sweep status` on the test's journal, as a user runs it.</summary>
    private (int Code, string Stdout, string Stderr) Status() =>
        SweepProcess.Run(SweepProcess.CoordinatorDll, _journal.Folder, TimeSpan.FromSeconds(60), null, "status", "--journal", _journal.FilePath);
}
