using Akka.Configuration;
using Akka.Persistence.Sql;
using Microsoft.Data.Sqlite;
using Npgsql;
using Sweep.Contract.Cli;
using Sweep.Contract.Configuration;

namespace Sweep.Coordinator.Persistence;

/// <summary>
/// Where a sweep's journal lives: a SQLite file (the default, `runs/NAME.db`) or a PostgreSQL database
/// given as an Npgsql connection string ("Host=...;Database=...;Username=...;Password=..."). Builds the
/// Akka.Persistence.Sql configuration for both, and checks the location before anything is written.
/// </summary>
public sealed record JournalLocation(string ConnectionString, string ProviderName, string Display, string? SqliteFile)
{
    /// <summary>The one persistent actor of a journal; a journal holds exactly one sweep.</summary>
    public const string PersistenceId = "sweep-coordinator";

    public bool IsSqlite => SqliteFile is not null;

    /// <summary>
    /// This journal as a `--journal` value for the hints printed to the user: the path, or the connection string
    /// (password hidden) in single quotes, since its semicolons would end a shell command.
    /// </summary>
    public string Argument => IsSqlite ? Display : $"'{RedactPassword(ConnectionString)}'";

    /// <summary>
    /// A path becomes a SQLite journal; a string with "Host=" is a PostgreSQL connection string, unless it names an
    /// existing file or looks like a journal file (no ';' and ends in .db, .sqlite or .sqlite3), e.g. runs/Host=a.db.
    /// </summary>
    public static JournalLocation Parse(string pathOrConnectionString)
    {
        var text = pathOrConnectionString.Trim();
        if (text.Length == 0)
            throw new SweepUsageException("--journal is empty; pass a file path such as runs/my-sweep.db or a PostgreSQL connection string");
        var looksLikeFile = File.Exists(text) || (!text.Contains(';') &&
            new[] { ".db", ".sqlite", ".sqlite3" }.Any(extension => text.EndsWith(extension, StringComparison.OrdinalIgnoreCase)));
        if (!looksLikeFile && text.Contains("Host=", StringComparison.OrdinalIgnoreCase))
            return new JournalLocation(text, "PostgreSQL.15", "PostgreSQL " + RedactPassword(text), null);
        var file = Path.GetFullPath(text);
        var builder = new SqliteConnectionStringBuilder { DataSource = file, DefaultTimeout = 30, Pooling = false };
        return new JournalLocation(builder.ToString(), "SQLite.MS", text, file);
    }

    /// <summary>
    /// What the journal's side files (coordinator log, worker logs, checkpoints) are named after: the journal, not
    /// the sweep, so that two journals of one sweep in one folder never share or overwrite them. The file name
    /// without extension for SQLite (runs/a.db: runs/a.checkpoint-store), the database name for PostgreSQL.
    /// </summary>
    public string SideFileStem => SqliteFile is { } file
        ? Path.GetFileNameWithoutExtension(file)
        : new NpgsqlConnectionStringBuilder(ConnectionString).Database is { Length: > 0 } database ? database : "sweep";

    /// <summary>The journal exists already (a file on disk; a PostgreSQL database is assumed to exist).</summary>
    public bool Exists => SqliteFile is null || File.Exists(SqliteFile);

    /// <summary>
    /// Checks that an existing SQLite journal is a readable SQLite database holding Sweep's tables, or that a
    /// PostgreSQL journal's database accepts a connection, without changing it; a missing file, a directory,
    /// another kind of file or an unreachable database raises a one-line error. Returns the location to read the
    /// journal through: this one, or for a SQLite journal in a folder nobody can write, an immutable view of it.
    /// </summary>
    public JournalLocation CheckReadable()
    {
        if (SqliteFile is null)
        {
            CheckPostgresReachable();
            return this;
        }
        if (Directory.Exists(SqliteFile))
            throw new SweepUsageException($"journal '{Display}' is a directory; pass the path of a journal file such as runs/my-sweep.db");
        if (!File.Exists(SqliteFile))
            throw new SweepUsageException($"journal '{Display}' does not exist; pass the --journal of an earlier `./sweep run` (default runs/<sweep-name>.db)");
        // Read-write, never create: SQLite removes the -wal and -shm files it creates for a read when its last
        // connection closes, which a read-only connection never does.
        var readable = this with { ConnectionString = SqliteConnectionString(SqliteOpenMode.ReadWrite, immutable: false) };
        try
        {
            if (CountJournalTables(readable.ConnectionString) == 0)
                throw NoSweepTables();
            return readable;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == CantOpen && !File.Exists(SqliteFile + "-wal"))
        {
            // The folder cannot be written (a read-only mount or copy), so SQLite cannot create the shared-memory file a
            // read of a WAL journal needs. With no write-ahead log the file holds every event, and nothing can change it
            // while nobody can write there: read it as immutable.
            var frozen = this with { ConnectionString = SqliteConnectionString(SqliteOpenMode.ReadOnly, immutable: true) };
            try
            {
                if (CountJournalTables(frozen.ConnectionString) == 0)
                    throw NoSweepTables();
                return frozen;
            }
            catch (SqliteException)
            {
                throw NotReadable(e);
            }
        }
        catch (SqliteException e) when (e.SqliteErrorCode == CantOpen)
        {
            throw new SweepUsageException(
                $"journal '{Display}' cannot be read: its folder is not writable and SQLite must create {Path.GetFileName(SqliteFile)}-shm there to read its write-ahead log; make the folder writable, or copy the journal with its -wal file to a writable folder");
        }
        catch (SqliteException e)
        {
            throw NotReadable(e);
        }
    }

    private const int CantOpen = 14;

    private SweepUsageException NoSweepTables() =>
        new($"journal '{Display}' is a SQLite file but holds no Sweep journal; pass the journal file written by `./sweep run`");

    private SweepUsageException NotReadable(SqliteException e) =>
        new($"journal '{Display}' is not a readable SQLite journal ({e.Message.TrimEnd('.')}); pass the journal file written by `./sweep run`, or a new path to start over");

    private string SqliteConnectionString(SqliteOpenMode mode, bool immutable) => new SqliteConnectionStringBuilder
    {
        // immutable=1 is a URI parameter: SQLite then takes no locks and creates no side files.
        DataSource = immutable ? new Uri(SqliteFile!).AbsoluteUri + "?immutable=1" : SqliteFile,
        Mode = mode,
        DefaultTimeout = 30,
        Pooling = false,
    }.ToString();

    private static long CountJournalTables(string connectionString)
    {
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'";
        return Convert.ToInt64(command.ExecuteScalar());
    }

    /// <summary>
    /// Opens one connection to the PostgreSQL database (bounded by the connection string's Timeout, 15 s by
    /// default). Akka.Persistence.Sql would otherwise retry its table setup every second and log a stack trace
    /// each time until recovery times out, and only then report a vague "recovery timed out".
    /// </summary>
    private void CheckPostgresReachable()
    {
        try
        {
            using var connection = new NpgsqlConnection(ConnectionString);
            connection.Open();
        }
        catch (Exception e) when (e is NpgsqlException or ArgumentException or FormatException or InvalidOperationException)
        {
            var reason = e.InnerException is { } inner && inner.Message != e.Message ? $"{e.Message}: {inner.Message}" : e.Message;
            throw new SweepUsageException(
                $"cannot open journal '{Display}' ({reason.Split('\n')[0].TrimEnd('.')}); check that the server runs and that Host, Port, Database, Username and Password are right");
        }
    }

    /// <summary>
    /// Checks that a new SQLite journal can be created at this path (its folder can be created and written),
    /// without leaving anything behind.
    /// </summary>
    public void CheckCreatable()
    {
        if (SqliteFile is null)
            return;
        if (Directory.Exists(SqliteFile))
            throw new SweepUsageException($"journal '{Display}' is a directory; pass the path of a journal file such as runs/my-sweep.db");
        var folder = Path.GetDirectoryName(SqliteFile)!;
        var existing = folder;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new SweepUsageException($"cannot create journal '{Display}': '{existing}' is a file, not a folder; choose another --journal path");
            existing = Path.GetDirectoryName(existing) ?? throw new SweepUsageException($"cannot create journal '{Display}': no existing parent folder; choose another --journal path");
        }
        var probe = Path.Combine(existing, $".sweep-write-probe-{Environment.ProcessId}");
        try
        {
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new SweepUsageException($"cannot create journal '{Display}': folder '{existing}' is not writable; choose another --journal path");
        }
    }

    /// <summary>
    /// Creates the SQLite file (and its folder) in WAL mode, so that `status` and `leaderboard` can read
    /// while the coordinator writes. Call only after every other input has been validated. Returns whether it
    /// created the file (so that a start that fails right after can take it away again with <see cref="Delete"/>).
    /// </summary>
    public bool CreateIfMissing()
    {
        if (SqliteFile is null || File.Exists(SqliteFile))
            return false;
        Directory.CreateDirectory(Path.GetDirectoryName(SqliteFile)!);
        using var connection = new SqliteConnection(ConnectionString);
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
        return true;
    }

    /// <summary>Removes a SQLite journal this process created and never used (with its WAL and shared-memory files).</summary>
    public void Delete()
    {
        if (SqliteFile is null)
            return;
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { SqliteFile, SqliteFile + "-wal", SqliteFile + "-shm" })
            File.Delete(file);
    }

    /// <summary>Akka.Persistence.Sql journal, snapshot store and query plugin pointed at this location.</summary>
    public Config ToAkkaConfig(bool createTables)
    {
        var connection = SweepConfig.Quote(ConnectionString);
        var provider = SweepConfig.Quote(ProviderName);
        var initialize = createTables ? "on" : "off";
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  auto-initialize = {{initialize}}
                  # One writer: SQLite serializes writes anyway, and the coordinator is the only writer.
                  parallelism = 1
                  # Through an outage the coordinator restarts with its own growing delays; a breaker left open
                  # for Akka's default 30 s would only keep it failing after the database is back.
                  circuit-breaker.reset-timeout = 3s
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  connection-string = {{connection}}
                  provider-name = {{provider}}
                  auto-initialize = {{initialize}}
                  circuit-breaker.reset-timeout = 3s
                }
              }
              query.journal.sql {
                connection-string = {{connection}}
                provider-name = {{provider}}
              }
            }
            """).WithFallback(SqlPersistence.DefaultConfiguration);
    }

    private static string RedactPassword(string connectionString) =>
        string.Join(';', connectionString.Split(';').Select(part =>
            part.TrimStart().StartsWith("Password=", StringComparison.OrdinalIgnoreCase) ? "Password=***" : part));
}
