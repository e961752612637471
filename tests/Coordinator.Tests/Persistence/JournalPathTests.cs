using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;

namespace Sweep.Coordinator.Tests.Persistence;

/// <summary>Issue 9: a journal path containing "Host=" was taken for a PostgreSQL connection string.</summary>
public sealed class JournalPathTests
{
    [Theory]
    [InlineData("runs/Host=a.db")]
    [InlineData("Host=b.sqlite")]
    public void A_path_that_contains_Host_is_still_a_path(string path)
    {
        var journal = JournalLocation.Parse(path);
        Assert.True(journal.IsSqlite);
        Assert.EndsWith(path, journal.SqliteFile);
    }

    [Fact]
    public void An_existing_file_named_like_a_connection_string_is_a_path()
    {
        using var temp = new TempJournal();
        var file = Path.Combine(temp.Folder, "Host=x;Database=y");
        File.WriteAllBytes(file, []);
        Assert.True(JournalLocation.Parse(file).IsSqlite);
    }

    [Fact]
    public void A_connection_string_whose_database_ends_in_db_stays_a_connection_string() =>
        Assert.False(JournalLocation.Parse("Host=db;Database=sweep.db;Username=u").IsSqlite);

    /// <summary>Issue 9: side files were named after the sweep, so two journals of one sweep overwrote each other's checkpoints.</summary>
    [Fact]
    public void Side_files_are_named_after_the_journal_not_the_sweep()
    {
        Assert.Equal("first", JournalLocation.Parse("runs/first.db").SideFileStem);
        Assert.Equal("second", JournalLocation.Parse("runs/second.db").SideFileStem);
        Assert.Equal("sweeps", JournalLocation.Parse("Host=db;Database=sweeps;Username=u").SideFileStem);
    }
}
