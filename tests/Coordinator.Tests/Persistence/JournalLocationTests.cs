using System.Security.Cryptography;
using Sweep.Contract.Cli;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Persistence;

public class JournalLocationTests
{
    [Fact]
    public void A_path_is_a_sqlite_journal_and_a_host_string_is_postgresql()
    {
        var sqlite = JournalLocation.Parse("runs/x.db");
        Assert.True(sqlite.IsSqlite);
        Assert.Equal("SQLite.MS", sqlite.ProviderName);
        Assert.EndsWith(Path.Combine("runs", "x.db"), sqlite.SqliteFile);

        var postgres = JournalLocation.Parse("Host=db;Database=sweep;Username=u;Password=secret");
        Assert.False(postgres.IsSqlite);
        Assert.StartsWith("PostgreSQL", postgres.ProviderName);
        Assert.DoesNotContain("secret", postgres.Display);
        var config = postgres.ToAkkaConfig(createTables: true);
        Assert.Equal(postgres.ConnectionString, config.GetString("akka.persistence.journal.sql.connection-string"));
        Assert.Equal("akka.persistence.journal.sql", config.GetString("akka.persistence.journal.plugin"));
    }

    [Fact]
    public void A_file_that_is_not_a_journal_is_refused_and_left_unchanged()
    {
        using var temp = new TempJournal();
        File.WriteAllText(temp.FilePath, "this is not a database, it is a shopping list\n");
        var before = SHA256.HashData(File.ReadAllBytes(temp.FilePath));

        var error = Assert.Throws<SweepUsageException>(() => temp.Location.CheckReadable());

        Assert.Contains("sweep.db", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(temp.FilePath)));
    }

    [Fact]
    public void A_directory_or_a_missing_file_is_refused_and_nothing_is_created()
    {
        using var temp = new TempJournal();
        var directory = JournalLocation.Parse(temp.Folder);
        Assert.Contains("directory", Assert.Throws<SweepUsageException>(directory.CheckReadable).Message);
        Assert.Contains("directory", Assert.Throws<SweepUsageException>(directory.CheckCreatable).Message);

        Assert.Contains("does not exist", Assert.Throws<SweepUsageException>(temp.Location.CheckReadable).Message);
        temp.Location.CheckCreatable();
        Assert.False(File.Exists(temp.FilePath));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Folder));
    }

    [Fact]
    public void A_journal_under_a_file_cannot_be_created()
    {
        using var temp = new TempJournal();
        var blocker = Path.Combine(temp.Folder, "plain-file");
        File.WriteAllText(blocker, "x");
        var below = JournalLocation.Parse(Path.Combine(blocker, "sub", "sweep.db"));
        Assert.Contains("is a file", Assert.Throws<SweepUsageException>(below.CheckCreatable).Message);
    }
}
