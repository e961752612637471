using System.Runtime.InteropServices;
using System.Text;
using Npgsql;
using Sweep.Contract.Cli;

namespace Sweep.Coordinator.Persistence;

/// <summary>
/// One coordinator per journal: held for as long as a coordinator writes to a journal, and released by the
/// operating system or the database server when its process dies (nothing stale to clean up after a crash).
/// SQLite: an exclusive flock on <c>JOURNAL.lock</c> beside the journal, which also names the holder's host and pid.
/// PostgreSQL: a session advisory lock on a dedicated connection whose application name names the holder. A server
/// restart ends that session and with it the lock, so <see cref="AdvisoryLockKeeper"/> watches the connection and takes
/// the lock again as soon as the server is back; if another coordinator took it first, <see cref="Lost"/> fires and
/// this coordinator must stop writing.
/// Readers (<c>status</c>, <c>leaderboard</c>, <c>report</c>) never take it.
/// </summary>
public sealed class JournalLock : IDisposable
{
    // The advisory lock's two keys: "Swep" and "jrnl" as ASCII, so that the lock is recognisable in pg_locks.
    private const int AdvisoryClass = 0x53776570;
    private const int AdvisoryObject = 0x6A726E6C;

    /// <summary>
    /// How often the PostgreSQL lock's connection is checked. A second coordinator can only win the lock in the gap
    /// between the server's return and the next check, so the check is frequent; it is one tiny query.
    /// </summary>
    public static readonly TimeSpan AdvisoryCheckInterval = TimeSpan.FromSeconds(1);

    private readonly IDisposable _held;
    private readonly CancellationTokenSource _lost = new();

    private JournalLock(IDisposable held) => _held = held;

    /// <summary>Cancelled when the lock was lost for good (PostgreSQL: another coordinator took it during a server outage).</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>Why <see cref="Lost"/> fired: one line naming the coordinator that holds the journal now; null while held.</summary>
    public string? LostReason { get; private set; }

    /// <summary>Who this process is, as another coordinator will be told.</summary>
    public static string Holder => $"host {Environment.MachineName} pid {Environment.ProcessId}";

    /// <summary>The lock file of a SQLite journal.</summary>
    public static string LockFileOf(string sqliteFile) => sqliteFile + ".lock";

    /// <summary>Takes the journal's lock, or raises a one-line <see cref="SweepUsageException"/> naming the coordinator that holds it.</summary>
    public static JournalLock Acquire(JournalLocation journal) => Acquire(journal, AdvisoryCheckInterval);

    /// <summary><see cref="Acquire(JournalLocation)"/> with another check interval for the PostgreSQL lock (tests).</summary>
    internal static JournalLock Acquire(JournalLocation journal, TimeSpan advisoryCheckInterval)
    {
        if (journal.SqliteFile is { } file)
            return new JournalLock(AcquireFile(journal, LockFileOf(file)));
        var first = AcquireAdvisory(journal);
        JournalLock? taken = null;
        var keeper = new AdvisoryLockKeeper(first, () => (TryAcquireAdvisory(journal, out var holder), holder), advisoryCheckInterval,
            holder => taken!.MarkLost($"journal '{journal.Display}' was taken over by another coordinator ({holder}) while its database server was unreachable"));
        taken = new JournalLock(keeper);
        keeper.Start();
        return taken;
    }

    /// <summary>Runs the PostgreSQL lock's check now rather than at its next tick (tests); nothing for a SQLite journal.</summary>
    internal void CheckNow() => (_held as AdvisoryLockKeeper)?.Check();

    private void MarkLost(string reason)
    {
        LostReason = reason;
        _lost.Cancel();
    }

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

    private static NpgsqlConnection AcquireAdvisory(JournalLocation journal) =>
        TryAcquireAdvisory(journal, out var holder) ?? throw Busy(journal, holder);

    /// <summary>A session that holds the advisory lock, or null with the session that does hold it named in <paramref name="holder"/>.</summary>
    private static NpgsqlConnection? TryAcquireAdvisory(JournalLocation journal, out string holder)
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
            {
                holder = Holder;
                return connection;
            }
            using var who = new NpgsqlCommand(
                "SELECT a.application_name, a.client_addr::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid " +
                "WHERE l.locktype = 'advisory' AND l.classid = $1::oid AND l.objid = $2::oid AND l.granted " +
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1", connection);
            who.Parameters.AddWithValue((long)AdvisoryClass);
            who.Parameters.AddWithValue((long)AdvisoryObject);
            using var reader = who.ExecuteReader();
            holder = reader.Read()
                ? $"{reader.GetString(0).Replace("sweep coordinator on ", "", StringComparison.Ordinal)}{(reader.IsDBNull(1) ? "" : $" (client {reader.GetString(1)})")}"
                : "another session";
            connection.Dispose();
            return null;
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

    public void Dispose()
    {
        _held.Dispose();
        _lost.Dispose();
    }

    /// <summary>
    /// Holds the PostgreSQL advisory lock across server restarts. Every interval it runs one query on the lock's
    /// connection; once that fails (the session, and so the lock, ended with the server), it tries to open a new
    /// session and take the lock again at each tick until the server answers. When another session holds the lock by
    /// then, it reports that holder once and stops.
    /// </summary>
    private sealed class AdvisoryLockKeeper(
        NpgsqlConnection connection, Func<(NpgsqlConnection? Held, string Holder)> reacquire, TimeSpan interval, Action<string> lost) : IDisposable
    {
        private readonly object _gate = new();
        private NpgsqlConnection? _connection = connection;
        private Timer? _timer;
        private bool _disposed;

        public void Start() => _timer = new Timer(_ => Check(), null, interval, interval);

        public void Check()
        {
            lock (_gate)
            {
                if (_disposed) return;
                if (_connection is { } current && Alive(current)) return;
                _connection?.Dispose();
                _connection = null;
                try
                {
                    var (held, holder) = reacquire();
                    if (held is null)
                    {
                        _timer?.Dispose();
                        _disposed = true;
                        lost(holder);
                        return;
                    }
                    _connection = held;
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or System.Net.Sockets.SocketException or TimeoutException)
                {
                    // The server is still down: try again at the next tick.
                }
            }
        }

        private static bool Alive(NpgsqlConnection held)
        {
            try
            {
                using var ping = new NpgsqlCommand("SELECT 1", held);
                ping.CommandTimeout = 5;
                return ping.ExecuteScalar() is not null;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or System.Net.Sockets.SocketException or TimeoutException)
            {
                return false;
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                _timer?.Dispose();
                if (_connection is { } held) Release(held);
                _connection = null;
            }
        }

        // Closing the session would release the lock too, but the server ends a closed session asynchronously, so a
        // coordinator started right after this one could still be refused: unlock first, which takes effect at once.
        private static void Release(NpgsqlConnection held)
        {
            try
            {
                using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1, $2)", held);
                unlock.Parameters.AddWithValue(AdvisoryClass);
                unlock.Parameters.AddWithValue(AdvisoryObject);
                unlock.CommandTimeout = 5;
                unlock.ExecuteScalar();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or System.Net.Sockets.SocketException or TimeoutException)
            {
                // The session is gone already, and the lock with it.
            }
            finally
            {
                held.Dispose();
            }
        }
    }

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
