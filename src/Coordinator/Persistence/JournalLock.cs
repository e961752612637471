using System.Runtime.InteropServices;
using System.Text;
using Npgsql;
using Sweep.Contract.Cli;

namespace Sweep.Coordinator.Persistence;

/// <summary>
/// One coordinator per journal: held for as long as a coordinator writes to a journal, and released by the
/// operating system or the database server when its process dies (nothing stale to clean up after a crash).
/// SQLite: an exclusive flock on <c>JOURNAL.lock</c> beside the journal, which also names the holder's host and pid.
/// PostgreSQL: a session advisory lock on a dedicated connection whose application name names the holder.
/// Readers (<c>status</c>, <c>leaderboard</c>, <c>report</c>) never take it.
/// </summary>
public sealed class JournalLock : IDisposable
{
    // The advisory lock's two keys: "Swep" and "jrnl" as ASCII, so that the lock is recognisable in pg_locks.
    private const int AdvisoryClass = 0x53776570;
    private const int AdvisoryObject = 0x6A726E6C;

    private readonly IDisposable _held;

    private JournalLock(IDisposable held) => _held = held;

    /// <summary>Who this process is, as another coordinator will be told.</summary>
    public static string Holder => $"host {Environment.MachineName} pid {Environment.ProcessId}";

    /// <summary>The lock file of a SQLite journal.</summary>
    public static string LockFileOf(string sqliteFile) => sqliteFile + ".lock";

    /// <summary>Takes the journal's lock, or raises a one-line <see cref="SweepUsageException"/> naming the coordinator that holds it.</summary>
    public static JournalLock Acquire(JournalLocation journal) =>
        new(journal.SqliteFile is { } file ? AcquireFile(journal, LockFileOf(file)) : AcquireAdvisory(journal));

    private static FileStream AcquireFile(JournalLocation journal, string path)
    {
        try
        {
            // On Unix, FileShare.None is an exclusive flock(2): it ends with the process, however the process ends.
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            stream.Write(Encoding.UTF8.GetBytes(Holder + "\n"));
            stream.Flush(flushToDisk: true);
            return stream;
        }
        catch (IOException) when (File.Exists(path))
        {
            throw Busy(journal, ReadLockedFile(path));
        }
        catch (UnauthorizedAccessException e)
        {
            throw new SweepUsageException($"cannot lock journal '{journal.Display}' ({e.Message.TrimEnd('.')}); the folder of the journal must be writable");
        }
    }

    private static NpgsqlConnection AcquireAdvisory(JournalLocation journal)
    {
        var builder = new NpgsqlConnectionStringBuilder(journal.ConnectionString)
        {
            ApplicationName = $"sweep coordinator on {Holder}",
            Pooling = false,
        };
        var connection = new NpgsqlConnection(builder.ToString());
        try
        {
            connection.Open();
            using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, $2)", connection);
            command.Parameters.AddWithValue(AdvisoryClass);
            command.Parameters.AddWithValue(AdvisoryObject);
            if (command.ExecuteScalar() is true)
                return connection;
            using var who = new NpgsqlCommand(
                "SELECT a.application_name, a.client_addr::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
                "WHERE l.locktype = 'advisory' AND l.classid = $1::oid AND l.objid = $2::oid AND l.granted " +
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1", connection);
            who.Parameters.AddWithValue((long)AdvisoryClass);
            who.Parameters.AddWithValue((long)AdvisoryObject);
            using var reader = who.ExecuteReader();
            var holder = reader.Read()
                ? $"{reader.GetString(0).Replace("sweep coordinator on ", "", StringComparison.Ordinal)}{(reader.IsDBNull(1) ? "" : $" (client {reader.GetString(1)})")}"
                : "another session";
            throw Busy(journal, holder);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static SweepUsageException Busy(JournalLocation journal, string holder) =>
        new($"journal '{journal.Display}' is in use by a running coordinator ({holder}); stop it first, or follow it with ./sweep status --journal {journal.Argument}");

    /// <summary>
    /// Reads the holder's line without taking a lock: .NET's own file APIs take a shared flock on open, which the
    /// holder's exclusive one refuses, so the file is read with plain open(2)/read(2).
    /// </summary>
    private static string ReadLockedFile(string path)
    {
        var fd = NativeFile.open(path, 0);
        if (fd < 0)
            return "unknown holder";
        try
        {
            var buffer = new byte[256];
            var count = NativeFile.read(fd, buffer, buffer.Length);
            var text = count > 0 ? Encoding.UTF8.GetString(buffer, 0, (int)count).Trim() : "";
            return text.Length > 0 && text.All(c => !char.IsControl(c)) ? text : "unknown holder";
        }
        finally
        {
            _ = NativeFile.close(fd);
        }
    }

    public void Dispose() => _held.Dispose();

    private static class NativeFile
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern nint read(int fd, byte[] buffer, nint count);

        [DllImport("libc")]
        public static extern int close(int fd);
    }
}
