namespace Sweep.Coordinator.Tests.Support;

/// <summary>Reads the stored events of a journal that a running coordinator may be writing (read-only, WAL), by manifest.</summary>
public sealed class JournalRows(string path) : IDisposable
{
    /// <summary>How many events of <paramref name="manifest"/> the journal holds; 0 while it or its tables do not exist yet.</summary>
    public static long CountIn(string path, string manifest)
    {
        try
        {
            using var rows = new JournalRows(path);
            return rows.Count(manifest);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0;
        }
    }

    private readonly Microsoft.Data.Sqlite.SqliteConnection _connection = Open(path);

    private static Microsoft.Data.Sqlite.SqliteConnection Open(string path)
    {
        if (!File.Exists(path))
            throw new Microsoft.Data.Sqlite.SqliteException("no journal yet", 14);
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }

    public long Count(string manifest)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM journal WHERE manifest = $m";
        command.Parameters.AddWithValue("$m", manifest);
        return Convert.ToInt64(command.ExecuteScalar());
    }

    /// <summary>The rows of one manifest in journal order, each with its event as JSON.</summary>
    public IReadOnlyList<(long Ordering, System.Text.Json.JsonElement Json)> Rows(string manifest)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT ordering, message FROM journal WHERE manifest = $m ORDER BY ordering";
        command.Parameters.AddWithValue("$m", manifest);
        using var reader = command.ExecuteReader();
        var rows = new List<(long, System.Text.Json.JsonElement)>();
        while (reader.Read())
            rows.Add((reader.GetInt64(0), System.Text.Json.JsonDocument.Parse((byte[])reader[1]).RootElement.Clone()));
        return rows;
    }

    public IEnumerable<string> TrialIdsOf(string manifest) => Rows(manifest).Select(r => r.Json.GetProperty("trial_id").GetString()!);

    public void Dispose() => _connection.Dispose();
}
