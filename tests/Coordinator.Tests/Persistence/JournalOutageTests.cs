using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Sweep.Contract.Nodes;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.TestSupport;
using Sweep.Worker.Hosting;
using Sweep.Worker.Trials;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Persistence;

/// <summary>
/// The coordinator executable through journal outages, with a scripted in-process worker: a PostgreSQL server stopped
/// for 30 s in the middle of a sweep, and a SQLite journal whose files become read-only.
/// </summary>
public abstract class JournalOutageFixture(ITestOutputHelper output) : IAsyncLifetime
{
    protected static readonly TimeSpan ProcessBound = TimeSpan.FromSeconds(120);
    protected readonly ITestOutputHelper Output = output;
    protected readonly TempJournal WorkFolder = new();
    private readonly List<IAsyncDisposable> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        await NodeShutdown.DisposeAllAsync(_nodes.ToList(), Output);
        WorkFolder.Dispose();
    }

    /// <summary>`sweep coordinator` on a tiny spec (6 trials of 3 epochs), with <paramref name="settings"/> as its cluster.conf.</summary>
    protected SweepProcess StartCoordinator(string journal, string name, string settings = "")
    {
        var spec = Path.Combine(WorkFolder.Folder, name + ".conf");
        File.WriteAllText(spec, TinySpecs.Text(name, "data", family: "fc", epochs: 3));
        var conf = Path.Combine(WorkFolder.Folder, name + ".cluster.conf");
        File.WriteAllText(conf, settings);
        var coordinator = SweepProcess.Start(SweepProcess.CoordinatorDll, WorkFolder.Folder,
            new Dictionary<string, string> { ["SWEEP_CLUSTER_CONF"] = conf },
            "coordinator", spec, "--journal", journal, "--host", "127.0.0.1", "--port", "0");
        Assert.True(coordinator.WaitForOutput(o => o.Contains("coordinator at "), ProcessBound), coordinator.Stdout + coordinator.Stderr);
        return coordinator;
    }

    protected async Task<ScriptedTrialRunner> StartWorker(SweepProcess coordinator, TimeSpan epochPause, int slots)
    {
        var address = Regex.Match(coordinator.Stdout, @"coordinator at (akka\.tcp://sweep@127\.0\.0\.1:\d+)").Groups[1].Value;
        var runner = new ScriptedTrialRunner(TrialScript.Train, epochPause);
        var host = await WorkerHost.StartAsync(
            ClusterNodeOptions.Loopback(ClusterNodeConfig.WorkerRole, address),
            Enumerable.Range(0, slots).Select(i => new TrialSlot(i, "cpu", 1, Path.GetTempPath())).ToList(),
            runner, TimeSpan.FromSeconds(20));
        _nodes.Add(host);
        return runner;
    }

    protected (int ExitCode, string Stdout, string Stderr) Cli(params string[] args) =>
        SweepProcess.Run(SweepProcess.CoordinatorDll, WorkFolder.Folder, ProcessBound, null, args);

    protected static async Task WaitUntil(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }
}

[Collection(TemporaryPostgres.CollectionName)]
public sealed class PostgresOutageTests(TemporaryPostgres postgres, ITestOutputHelper output) : JournalOutageFixture(output)
{
    [Fact]
    public async Task A_server_stopped_for_30_s_mid_sweep_costs_no_trial_and_runs_none_twice()
    {
        const string database = "outage";
        var journal = JournalLocation.Parse(await postgres.CreateDatabaseAsync(database));
        // Restarts at most 2 s apart, so that the sweep goes on soon after the server is back.
        using var coordinator = StartCoordinator(journal.ConnectionString, "pg-outage", "sweep.coordinator.restart.max-backoff = 2s");
        var runner = await StartWorker(coordinator, TimeSpan.FromMilliseconds(400), slots: 2);
        const string completed = "SELECT count(*) FROM journal WHERE manifest = 'trial-completed'";
        await WaitUntil(async () => await postgres.QueryCountAsync(database, completed) >= 1, TimeSpan.FromSeconds(60), "a first completed trial");

        postgres.StopServer();
        var outage = Stopwatch.StartNew();
        try
        {
            Assert.True(coordinator.WaitForOutput(o => o.Contains("journal unavailable, retrying"), TimeSpan.FromSeconds(25)),
                "the coordinator reports the outage: " + coordinator.Stdout + coordinator.Stderr);
            await Task.Delay(TimeSpan.FromSeconds(30) - outage.Elapsed);
        }
        finally
        {
            postgres.StartServerAgain();
        }

        Assert.True(coordinator.WaitForExit(ProcessBound), "the sweep finished after the outage: " + coordinator.Stdout + coordinator.Stderr);
        Output.WriteLine(coordinator.Stdout + coordinator.Stderr);
        Assert.Equal(0, coordinator.ExitCode);
        Assert.Contains("journal available again", coordinator.Stdout);
        var state = await JournalReader.ReadStateAsync(journal, TimeSpan.FromSeconds(30));
        Assert.True(state.IsCompleted);
        Assert.Equal(6, state.Trials.Count);
        // Every trial ran exactly once (the runs in flight during the outage were kept, not run again) and was
        // journaled exactly once.
        Assert.Equal(state.Trials.Keys.Order(), runner.Started.Order());
        Assert.All(state.Trials.Values, t => Assert.Equal(1, t.Attempts));
        Assert.Equal(6, await postgres.QueryCountAsync(database, completed));
    }
}

public sealed class SqliteReadOnlyJournalTests(ITestOutputHelper output) : JournalOutageFixture(output)
{
    private string[] _frozen = [];

    public override async Task DisposeAsync()
    {
        ImmutableFiles.Clear(_frozen);
        await base.DisposeAsync();
    }

    private static long CompletedTrials(string db)
    {
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM journal WHERE manifest = 'trial-completed'";
            return Convert.ToInt64(command.ExecuteScalar());
        }
        catch (SqliteException)
        {
            return 0; // not created yet
        }
    }

    [ImmutableFilesFact]
    public async Task A_journal_folder_that_becomes_read_only_mid_sweep_ends_the_sweep_with_one_line_and_a_journal_status_still_reads()
    {
        var db = Path.Combine(WorkFolder.Folder, "readonly.db");
        using var coordinator = StartCoordinator(db, "ro-sweep", "sweep.coordinator.restart.give-up-after = 6s");
        await StartWorker(coordinator, TimeSpan.FromMilliseconds(500), slots: 1);
        await WaitUntil(() => Task.FromResult(CompletedTrials(db) >= 1), TimeSpan.FromSeconds(60), "a first completed trial");

        // The journal's files and its folder become read-only (the shared-memory index stays writable: SQLite maps
        // it, and readers need it too).
        _frozen = [db, db + "-wal", WorkFolder.Folder];
        ImmutableFiles.Set(_frozen);
        var clock = Stopwatch.StartNew();

        Assert.True(coordinator.WaitForExit(TimeSpan.FromSeconds(60)), "the coordinator gave up: " + coordinator.Stdout + coordinator.Stderr);
        Output.WriteLine($"exit {coordinator.ExitCode} after {clock.Elapsed.TotalSeconds:0.0} s\n{coordinator.Stdout}\n{coordinator.Stderr}");
        Assert.Equal(1, coordinator.ExitCode);
        Assert.Contains("journal unavailable, retrying", coordinator.Stdout);
        var line = Assert.Single(coordinator.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"sweep: journal {db} could not be written for ", line);
        Assert.Contains("(SQLite Error ", line);
        Assert.EndsWith($"continue with ./sweep resume --journal {db}", line.TrimEnd());

        // Still read-only: status reads everything that was stored.
        var status = Cli("status", "--journal", db);
        Assert.True(status.ExitCode == 0, status.Stdout + status.Stderr);
        Assert.Matches(@"[1-6] completed", status.Stdout);
        Assert.Contains("status: in progress", status.Stdout);
    }
}
