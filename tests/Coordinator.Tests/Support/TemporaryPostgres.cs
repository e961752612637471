using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Sweep.Coordinator.Tests.Support;

/// <summary>
/// A throwaway PostgreSQL server for the tests that use a PostgreSQL journal: a fresh cluster (initdb, trust
/// authentication) in a new temporary folder, listening on 127.0.0.1 only on a free port, with its unix socket
/// inside that folder. Stopped (immediate mode) and deleted on dispose. PostgreSQL refuses to run as root, so
/// under root every server command runs as the OS user `postgres`. Without the server binaries it fails with the
/// package to install, never skips.
/// </summary>
public sealed class TemporaryPostgres : IAsyncLifetime
{
    public const string CollectionName = "PostgreSQL server";
    private const string SuperUser = "postgres";
    private static readonly TimeSpan CommandBound = TimeSpan.FromSeconds(60);
    private static readonly bool RunningAsRoot = Environment.UserName == "root";

    private string? _binDirectory;

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "sweep-postgres-" + Guid.NewGuid().ToString("N")[..12]);
    private string DataDirectory => Path.Combine(Folder, "data");
    public int Port { get; private set; }

    /// <summary>Npgsql connection string of <paramref name="database"/> on this server (what `--journal` takes).</summary>
    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Database={database};Username={SuperUser}";

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        return ConnectionString(name);
    }

    /// <summary>Runs a scalar query against <paramref name="database"/>.</summary>
    public async Task<long> QueryCountAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString(database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>The folder holding initdb and pg_ctl: from PATH first, else the newest /usr/lib/postgresql/*/bin.</summary>
    public static string? FindBinDirectory()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "initdb"))
            .FirstOrDefault(File.Exists);
        if (onPath is not null)
        {
            // A symlink such as /usr/local/bin/initdb: pg_ctl and postgres live beside its target.
            var target = new FileInfo(onPath).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? onPath;
            var dir = Path.GetDirectoryName(target)!;
            if (File.Exists(Path.Combine(dir, "pg_ctl")))
                return dir;
        }
        const string installed = "/usr/lib/postgresql";
        if (!Directory.Exists(installed))
            return null;
        return Directory.GetDirectories(installed)
            .Select(version => Path.Combine(version, "bin"))
            .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
            .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
            .FirstOrDefault();
    }

    public Task InitializeAsync()
    {
        Start();
        return Task.CompletedTask;
    }

    private void Start()
    {
        _binDirectory = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under /usr/lib/postgresql/*/bin; " +
            "install the Debian package `postgresql` (apt-get install -y postgresql) to run the PostgreSQL journal tests");
        Directory.CreateDirectory(Folder);
        if (RunningAsRoot)
            Run("chown", [$"{SuperUser}:", Folder], asServerUser: false);
        Run(Path.Combine(_binDirectory, "initdb"),
            ["-D", DataDirectory, "-A", "trust", "-U", SuperUser, "-E", "UTF8", "--locale=C", "--no-sync"], asServerUser: true);

        // A free port can be taken between probing and binding; try a few.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreeLoopbackPort();
            var (exitCode, output) = StartOnPort();
            if (exitCode == 0)
                break;
            if (attempt == 3)
                throw new InvalidOperationException($"pg_ctl start failed ({exitCode}): {output}\n{ServerLog()}");
        }
    }

    private (int ExitCode, string Output) StartOnPort()
    {
        // Durability settings off: a throwaway server that must start and write fast on a small machine.
        var options = $"-c listen_addresses=127.0.0.1 -c port={Port} -c unix_socket_directories='{Folder}' " +
                      "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        return Run(Path.Combine(_binDirectory!, "pg_ctl"),
            ["-D", DataDirectory, "-l", Path.Combine(Folder, "server.log"), "-w", "-t", "30", "-o", options, "start"],
            asServerUser: true, throwOnFailure: false);
    }

    /// <summary>An outage: stops the server the way an administrator would (fast mode: every connection is cut), keeping its data.</summary>
    public void StopServer()
    {
        Run(Path.Combine(_binDirectory!, "pg_ctl"), ["-D", DataDirectory, "-m", "fast", "-w", "-t", "30", "stop"], asServerUser: true);
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>Ends an outage: starts the stopped server again on the same port.</summary>
    public void StartServerAgain()
    {
        var (exitCode, output) = StartOnPort();
        if (exitCode != 0)
            throw new InvalidOperationException($"pg_ctl start failed ({exitCode}): {output}\n{ServerLog()}");
    }

    public Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (_binDirectory is not null && Directory.Exists(DataDirectory))
                Run(Path.Combine(_binDirectory, "pg_ctl"), ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "20", "stop"],
                    asServerUser: true, throwOnFailure: false);
        }
        finally
        {
            if (Directory.Exists(Folder))
                Directory.Delete(Folder, recursive: true);
        }
        return Task.CompletedTask;
    }

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private string ServerLog()
    {
        var log = Path.Combine(Folder, "server.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no server log)";
    }

    private static (int ExitCode, string Output) Run(string program, IReadOnlyList<string> args, bool asServerUser, bool throwOnFailure = true)
    {
        var start = new ProcessStartInfo(asServerUser && RunningAsRoot ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asServerUser && RunningAsRoot)
        {
            foreach (var arg in new[] { "-u", SuperUser, "--", program })
                start.ArgumentList.Add(arg);
        }
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandBound))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{Path.GetFileName(program)} {string.Join(' ', args)}` did not finish within {CommandBound.TotalSeconds} s");
        }
        var output = stdout.Result + stderr.Result;
        if (throwOnFailure && process.ExitCode != 0)
            throw new InvalidOperationException($"`{Path.GetFileName(program)} {string.Join(' ', args)}` failed ({process.ExitCode}): {output}");
        return (process.ExitCode, output);
    }
}

/// <summary>One PostgreSQL server shared by every test class of this collection (each test makes its own database).</summary>
[CollectionDefinition(TemporaryPostgres.CollectionName)]
public sealed class TemporaryPostgresCollection : ICollectionFixture<TemporaryPostgres>;
