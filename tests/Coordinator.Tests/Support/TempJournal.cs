using Microsoft.Data.Sqlite;
using Sweep.Coordinator.Persistence;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>A SQLite journal in a fresh temporary folder, deleted afterwards.</summary>
public sealed class TempJournal : IDisposable
{
    public TempJournal()
    {
        Folder = Path.Combine(Path.GetTempPath(), "sweep-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Folder);
        FilePath = Path.Combine(Folder, "sweep.db");
        Location = JournalLocation.Parse(FilePath);
    }

    public string Folder { get; }
    public string FilePath { get; }
    public JournalLocation Location { get; }

    /// <summary>How many stored events carry this manifest (read straight from the journal table).</summary>
    public long CountEvents(string manifest) => CountEventsIn(FilePath, manifest);

    /// <summary>As <see cref="CountEvents"/>, in another journal file of this folder.</summary>
    public static long CountEventsIn(string journalFile, string manifest)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = journalFile, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM journal WHERE manifest = $m";
        command.Parameters.AddWithValue("$m", manifest);
        return Convert.ToInt64(command.ExecuteScalar());
    }

    /// <summary>How many snapshots the snapshot store holds.</summary>
    public long CountSnapshots()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = FilePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM snapshot";
        return Convert.ToInt64(command.ExecuteScalar());
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A process still closing the file; the temp folder is cleaned by the OS later.
        }
    }
}
