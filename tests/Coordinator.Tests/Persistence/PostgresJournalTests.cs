using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Actor;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Persistence;
using Sweep.Coordinator.Tests.Support;
using Sweep.Search.Journal;
using Sweep.Search.Specs;
using Sweep.Worker.Hosting;
using Sweep.Worker.Tests.Fakes;
using Sweep.Worker.Trials;
using Xunit.Abstractions;

namespace Sweep.Coordinator.Tests.Persistence;

/// <summary>
/// The PostgreSQL journal on a throwaway local server: full sweeps with scripted trials (coordinator in process
/// and as the real executable), a stopped-and-restarted coordinator, a journal of another sweep, and a server
/// that is not there.
/// </summary>
[Collection(TemporaryPostgres.CollectionName)]
public sealed class PostgresJournalTests(TemporaryPostgres postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan ProcessBound = TimeSpan.FromSeconds(60);
    // Snapshots every few events, so that the PostgreSQL snapshot store is written, pruned and recovered from.
    private static readonly CoordinatorSettings FrequentSnapshots = new(5, TimeSpan.FromMilliseconds(500));
    private readonly TempJournal _workFolder = new();
    private readonly List<IAsyncDisposable> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await NodeShutdown.DisposeAllAsync(_nodes.ToList(), output);
        _workFolder.Dispose();
    }

    private async Task<(string Database, JournalLocation Journal)> NewJournal(string database)
    {
        var connectionString = await postgres.CreateDatabaseAsync(database);
        return (database, JournalLocation.Parse(connectionString));
    }

    private async Task<CoordinatorNode> StartCoordinator(JournalLocation journal, SweepSpec? spec, string? seedNode = null)
    {
        var options = seedNode is null
            ? ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole)
            : ClusterNodeOptions.Loopback(ClusterNodeConfig.CoordinatorRole, seedNode);
        var node = await CoordinatorNode.StartAsync(options, journal, spec, FrequentSnapshots, JoinTimeout);
        _nodes.Add(node);
        return node;
    }

    private async Task<WorkerHost> StartWorker(string seedNode, ScriptedTrialRunner runner, int slots)
    {
        var host = await WorkerHost.StartAsync(
            ClusterNodeOptions.Loopback(ClusterNodeConfig.WorkerRole, seedNode),
            Enumerable.Range(0, slots).Select(i => new TrialSlot(i, "cpu", 1, Path.GetTempPath())).ToList(),
            runner, JoinTimeout);
        _nodes.Add(host);
        return host;
    }

    private static Task<SweepStatus> WaitFor(CoordinatorNode node, Func<SweepStatus, bool> condition, TimeSpan timeout) =>
        SweepStatusPolling.WaitFor(node, condition, timeout);

    private static Task<SweepState> Read(JournalLocation journal) => JournalReader.ReadStateAsync(journal, TimeSpan.FromSeconds(30));

    private (int ExitCode, string Stdout, string Stderr) Cli(params string[] args) =>
        SweepProcess.Run(SweepProcess.CoordinatorDll, _workFolder.Folder, ProcessBound, null, args);

    private string WriteTinySpec(string name)
    {
        var path = Path.Combine(_workFolder.Folder, name + ".conf");
        // No local workers in these runs, so the data folder is never opened.
        File.WriteAllText(path, TinySpecs.Text(name, "data", family: "fc"));
        return path;
    }

    private static SweepSpec FourPlusTwo(string name = "pg-sweep") => TestSweeps.TwoStages(name: name, firstStage: 4, secondStage: 2);

    [Fact]
    public async Task The_coordinator_executable_runs_a_sweep_to_completion_and_leaderboard_reads_every_trial_once()
    {
        var (database, journal) = await NewJournal("complete");
        var spec = WriteTinySpec("pg-complete");
        using var coordinator = SweepProcess.Start(SweepProcess.CoordinatorDll, _workFolder.Folder, null,
            "coordinator", spec, "--journal", journal.ConnectionString, "--host", "127.0.0.1", "--port", "0");
        Assert.True(coordinator.WaitForOutput(o => o.Contains("coordinator at "), ProcessBound), coordinator.Stdout + coordinator.Stderr);
        var address = Regex.Match(coordinator.Stdout, @"coordinator at (akka\.tcp://sweep@127\.0\.0\.1:\d+)").Groups[1].Value;

        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(50));
        await StartWorker(address, runner, slots: 2);

        Assert.True(coordinator.WaitForExit(ProcessBound), "coordinator finished the sweep: " + coordinator.Stdout + coordinator.Stderr);
        output.WriteLine(coordinator.Stdout);
        Assert.Equal(0, coordinator.ExitCode);
        Assert.Contains("complete", coordinator.Stdout);

        var state = await Read(journal);
        Assert.True(state.IsCompleted);
        Assert.Equal(6, state.Trials.Count);
        Assert.Equal(runner.Started.Order(), state.Trials.Keys.Order());
        Assert.Equal(6, await postgres.QueryCountAsync(database, "SELECT count(*) FROM journal WHERE manifest = 'trial-completed'"));

        var board = Cli("leaderboard", "--journal", journal.ConnectionString, "--format", "json");
        Assert.True(board.ExitCode == 0, board.Stderr);
        using var rows = JsonDocument.Parse(board.Stdout);
        var ids = rows.RootElement.EnumerateArray().Select(row => row.GetProperty("trial_id").GetString()).ToList();
        Assert.Equal(state.Trials.Keys.Order(), ids.Order());
    }

    [Fact]
    public async Task A_coordinator_stopped_mid_sweep_and_started_again_reruns_no_finished_trial_and_ends_like_an_uninterrupted_run()
    {
        var spec = TestSweeps.TwoStages(name: "pg-resume", firstStage: 6, secondStage: 2);

        var (_, reference) = await NewJournal("uninterrupted");
        var whole = await StartCoordinator(reference, spec);
        await StartWorker(whole.Address.ToString(), new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(20)), slots: 2);
        await WaitFor(whole, s => s.Progress.IsCompleted, TimeSpan.FromSeconds(30));
        var expected = await Read(reference);

        var (database, journal) = await NewJournal("interrupted");
        var first = await StartCoordinator(journal, spec);
        var runner = new ScriptedTrialRunner(TrialScript.Train, TimeSpan.FromMilliseconds(150));
        var worker = await StartWorker(first.Address.ToString(), runner, slots: 1);
        await WaitFor(first, s => s.Progress.Counts.Completed >= 3, TimeSpan.FromSeconds(30));
        _nodes.Remove(first);
        await first.DisposeAsync();

        var before = await Read(journal);
        Assert.False(before.IsCompleted);
        var finishedBefore = before.Trials.Values.Where(t => t.IsTerminal).ToDictionary(t => t.TrialId, t => t.Result);
        Assert.NotEmpty(finishedBefore);
        Assert.True(await postgres.QueryCountAsync(database, "SELECT count(*) FROM snapshot") >= 1, "a snapshot was stored");

        // The restarted coordinator joins the cluster the worker is still in and recovers from snapshot + events.
        var second = await StartCoordinator(journal, null, Akka.Cluster.Cluster.Get(worker.System).SelfAddress.ToString());
        await WaitFor(second, s => s.Progress.IsCompleted, TimeSpan.FromSeconds(30));

        var after = await Read(journal);
        Assert.True(after.IsCompleted);
        foreach (var (id, result) in finishedBefore)
        {
            Assert.Single(runner.Started, started => started == id);
            Assert.Equal(1, after.GetTrial(id).Attempts);
            Assert.Equal(result, after.GetTrial(id).Result);
        }
        Assert.Equal(
            expected.Trials.Values.Select(t => $"{t.TrialId} {t.Spec.Params.Key}").Order(),
            after.Trials.Values.Select(t => $"{t.TrialId} {t.Spec.Params.Key}").Order());
        Assert.Equal(8, await postgres.QueryCountAsync(database, "SELECT count(*) FROM journal WHERE manifest = 'trial-completed'"));
    }

    [Fact]
    public async Task A_run_on_a_database_holding_another_sweep_is_refused_like_sqlite_and_leaves_the_journal_unchanged()
    {
        var (database, journal) = await NewJournal("other_sweep");
        var node = await StartCoordinator(journal, FourPlusTwo("first-sweep"));
        await WaitFor(node, s => s.Progress.Counts.Total > 0, TimeSpan.FromSeconds(20));
        _nodes.Remove(node);
        await node.DisposeAsync();
        const string rows = "SELECT count(*) FROM journal";
        var eventsBefore = await postgres.QueryCountAsync(database, rows);
        Assert.True(eventsBefore > 0);

        var (code, _, stderr) = Cli("run", WriteTinySpec("tiny"), "--journal", journal.ConnectionString, "--local-workers", "0");

        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var first = (await Read(journal)).Spec!;
        var tiny = SweepSpecLoader.LoadFile(Path.Combine(_workFolder.Folder, "tiny.conf"));
        // Word for word the SQLite refusal (ClusterCommands.RefuseOtherSweep), with this journal's name.
        Assert.Equal(
            $"sweep: journal '{journal.Display}' holds another sweep ('first-sweep', fingerprint {SweepIdentity.Of(first)}) than this spec ('tiny', fingerprint {SweepIdentity.Of(tiny)}); pass a new --journal path, or continue that sweep with ./sweep resume --journal '{journal.ConnectionString}'",
            line.TrimEnd('\r'));
        Assert.DoesNotContain("Password", line);
        Assert.Equal(eventsBefore, await postgres.QueryCountAsync(database, rows));
    }

    [Theory]
    [InlineData("status")]
    [InlineData("run")]
    public void An_unreachable_server_is_a_one_line_error_with_a_non_zero_exit_and_no_hang(string command)
    {
        var closed = $"Host=127.0.0.1;Port={TemporaryPostgres.FreeLoopbackPort()};Database=sweep;Username=postgres;Password=secret";
        string[] args = command == "run"
            ? ["run", WriteTinySpec("unreachable"), "--journal", closed, "--local-workers", "0"]
            : ["status", "--journal", closed];
        var clock = Stopwatch.StartNew();

        var (code, stdout, stderr) = Cli(args);

        output.WriteLine($"{command}: exit {code} after {clock.Elapsed.TotalSeconds:0.0} s\nstdout: {stdout}\nstderr: {stderr}");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sweep: ", line);
        Assert.Contains("PostgreSQL", line);
        Assert.DoesNotContain("secret", line);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public void A_database_that_does_not_exist_is_a_one_line_error_naming_it()
    {
        var clock = Stopwatch.StartNew();
        var (code, _, stderr) = Cli("leaderboard", "--journal", postgres.ConnectionString("no_such_database"));

        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sweep: cannot open journal", line);
        Assert.Contains("\"no_such_database\" does not exist", line);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed.TotalSeconds:0.0} s");
    }
}
